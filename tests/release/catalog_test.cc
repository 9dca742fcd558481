#include "release/catalog.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/memory_body.h"
#include "support/temp_dir.h"

namespace moat::release {
namespace {

namespace fs = std::filesystem;
using content::Encoding;
using content::Lookup;

using TempDir = test_support::TempDir;

std::string sha256_hex(const std::string& data) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), d, &len, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(kHex[d[i] >> 4]);
        out.push_back(kHex[d[i] & 0xf]);
    }
    return out;
}

std::string random_data(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

// The whole body of a representation, from memory or from its file.
std::string body_of(const content::Representation& r) {
    if (r.bytes) return *r.bytes;
    if (!r.file) return "<no body>";
    std::string out(r.size, '\0');
    std::size_t at = 0;
    while (at < out.size()) {
        const ssize_t n =
            ::pread(r.file->fd, out.data() + at, out.size() - at, static_cast<off_t>(at));
        if (n <= 0) return "<read error>";
        at += static_cast<std::size_t>(n);
    }
    return out;
}

class CatalogTest : public ::testing::Test {
protected:
    void SetUp() override {
        store::StoreSettings ss;
        ss.enabled = true;
        ss.dir = dir_.path() + "/store";
        ss.default_buckets = false;
        ss.min_free_bytes = 0;
        auto st = store::Store::open(ss);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        ASSERT_TRUE(store_->create_bucket("content"));
        ASSERT_TRUE(store_->set_versioning("content", store::Versioning::kEnabled));
        ASSERT_TRUE(store_->create_bucket(settings_.variants_bucket));
        settings_.cache_dir = dir_.path() + "/cache";
    }

    // Puts `data` as content/testing/<site>/<path> and returns its manifest entry.
    ManifestEntry put(const std::string& path, const std::string& data,
                      const std::string& type = "text/html; charset=utf-8") {
        store::MemoryBody body(data);
        auto info = store_->put("content", "testing/example.com/" + path, body, {});
        EXPECT_TRUE(info) << info.error().detail;
        ManifestEntry e;
        e.path = path;
        e.bucket = "content";
        e.key = info->key;
        e.version_id = info->version_id;
        e.sha256 = sha256_hex(data);
        e.size = data.size();
        e.content_type = type;
        e.etag = "\"" + e.sha256.substr(0, 32) + "\"";
        e.mtime = 1700000000;
        return e;
    }

    // Adds a variant of `e` whose stored bytes are `data`.
    void add_variant(ManifestEntry& e, const std::string& enc, const std::string& data) {
        store::MemoryBody body(data);
        const std::string key = "variants/" + e.sha256 + "." + enc;
        auto info = store_->put(settings_.variants_bucket, key, body, {});
        ASSERT_TRUE(info) << info.error().detail;
        e.variants.push_back({enc, key, info->version_id, data.size(),
                              "\"" + e.sha256.substr(0, 32) + "-" + enc + "\""});
    }

    static Manifest manifest(std::vector<ManifestEntry> entries) {
        Manifest m;
        m.site = "example.com";
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.path < b.path; });
        m.entries = std::move(entries);
        return m;
    }

    TempDir dir_;
    std::unique_ptr<store::Store> store_;
    ReleaseSettings settings_;
};

TEST_F(CatalogTest, ServesFilesFoldersAndNothingElse) {
    Catalog cat(*store_, settings_);
    EXPECT_EQ(cat.lookup("example.com", "testing", "index.html").kind, Lookup::kNotFound);
    EXPECT_EQ(cat.serving("example.com", "testing"), "");

    auto index = put("index.html", "<h1>home</h1>");
    auto doc = put("docs/guide/a.txt", "guide text", "");  // type from the extension
    ASSERT_TRUE(cat.activate("example.com", "testing", "r1", manifest({index, doc})));
    EXPECT_EQ(cat.serving("example.com", "testing"), "r1");

    auto got = cat.lookup("example.com", "testing", "index.html");
    ASSERT_EQ(got.kind, Lookup::kFile);
    ASSERT_TRUE(got.entry);
    EXPECT_EQ(got.entry->path, "index.html");
    EXPECT_EQ(got.entry->content_type, "text/html; charset=utf-8");
    EXPECT_TRUE(got.entry->compressible);
    EXPECT_EQ(got.entry->mtime, 1700000000);
    EXPECT_EQ(got.entry->last_modified, "Tue, 14 Nov 2023 22:13:20 GMT");
    EXPECT_EQ(got.entry->available(), content::encoding_bit(Encoding::kIdentity));
    auto rep = got.entry->rep(Encoding::kIdentity);
    ASSERT_TRUE(rep);
    EXPECT_EQ(body_of(*rep), "<h1>home</h1>");
    EXPECT_EQ(rep->etag, index.etag);
    EXPECT_EQ(rep->size, 13u);

    auto txt = cat.lookup("example.com", "testing", "docs/guide/a.txt");
    ASSERT_EQ(txt.kind, Lookup::kFile);
    EXPECT_EQ(txt.entry->content_type, "text/plain; charset=utf-8");
    EXPECT_EQ(body_of(*txt.entry->rep(Encoding::kIdentity)), "guide text");

    EXPECT_EQ(cat.lookup("example.com", "testing", "docs").kind, Lookup::kDirectory);
    EXPECT_EQ(cat.lookup("example.com", "testing", "docs/guide").kind, Lookup::kDirectory);
    EXPECT_EQ(cat.lookup("example.com", "testing", "docs/guide/").kind, Lookup::kDirectory);
    EXPECT_EQ(cat.lookup("example.com", "testing", "").kind, Lookup::kDirectory);
    EXPECT_EQ(cat.lookup("example.com", "testing", "doc").kind, Lookup::kNotFound);
    EXPECT_EQ(cat.lookup("example.com", "testing", "docs/guide/a").kind, Lookup::kNotFound);
    EXPECT_EQ(cat.lookup("example.com", "production", "index.html").kind, Lookup::kNotFound);
    EXPECT_EQ(cat.lookup("other.com", "testing", "index.html").kind, Lookup::kNotFound);

    const auto st = cat.stats();
    EXPECT_EQ(st.environments, 1u);
    EXPECT_EQ(st.bodies, 2u);
    EXPECT_EQ(st.memory_bytes, 13u + 10u);
    EXPECT_EQ(st.file_bytes, 0u);
}

TEST_F(CatalogTest, VariantsBecomeRepresentations) {
    Catalog cat(*store_, settings_);
    auto e = put("app.js", std::string(1000, 'x'), "text/javascript; charset=utf-8");
    add_variant(e, "br", "BR-BYTES");
    add_variant(e, "gzip", "GZIP-BYTES");
    ASSERT_TRUE(cat.activate("example.com", "testing", "r1", manifest({e})));
    auto got = cat.lookup("example.com", "testing", "app.js");
    ASSERT_EQ(got.kind, Lookup::kFile);
    EXPECT_EQ(got.entry->available(), content::encoding_bit(Encoding::kIdentity) |
                                          content::encoding_bit(Encoding::kBrotli) |
                                          content::encoding_bit(Encoding::kGzip));
    auto br = got.entry->rep(Encoding::kBrotli);
    ASSERT_TRUE(br);
    EXPECT_EQ(br->encoding, Encoding::kBrotli);
    EXPECT_EQ(body_of(*br), "BR-BYTES");
    EXPECT_EQ(br->etag, e.variants[0].etag);
    EXPECT_EQ(body_of(*got.entry->rep(Encoding::kGzip)), "GZIP-BYTES");
    EXPECT_FALSE(got.entry->rep(Encoding::kZstd));
}

TEST_F(CatalogTest, BigBodyIsServedFromAnUnlinkedTemporaryFile) {
    settings_.max_memory_file = 1024;
    Catalog cat(*store_, settings_);
    const std::string big = random_data(3 * (1 << 20) + 17, 7);  // several 1 MiB reads
    ASSERT_TRUE(cat.activate("example.com", "testing", "r1",
                             manifest({put("big.bin", big, "application/octet-stream"),
                                       put("small.txt", "small", "text/plain")})));
    auto got = cat.lookup("example.com", "testing", "big.bin");
    ASSERT_EQ(got.kind, Lookup::kFile);
    auto rep = got.entry->rep(Encoding::kIdentity);
    ASSERT_TRUE(rep);
    EXPECT_FALSE(rep->bytes);
    ASSERT_TRUE(rep->file);
    EXPECT_EQ(rep->size, big.size());
    EXPECT_TRUE(body_of(*rep) == big);
    EXPECT_TRUE(
        cat.lookup("example.com", "testing", "small.txt").entry->rep(Encoding::kIdentity)->bytes);

    // The cache folder is private and holds no named file (O_TMPFILE).
    struct stat sb {};
    ASSERT_EQ(::stat(settings_.cache_dir.c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0700u);
    EXPECT_TRUE(fs::is_empty(settings_.cache_dir));
    EXPECT_EQ(cat.stats().file_bytes, big.size());
    EXPECT_EQ(cat.stats().memory_bytes, 5u);
}

TEST_F(CatalogTest, MemoryBudgetSpillsLaterBodiesToFiles) {
    settings_.memory_budget = 100;
    Catalog cat(*store_, settings_);
    ASSERT_TRUE(cat.activate(
        "example.com", "testing", "r1",
        manifest({put("a.txt", std::string(80, 'a')), put("b.txt", std::string(80, 'b'))})));
    auto a = cat.lookup("example.com", "testing", "a.txt").entry->rep(Encoding::kIdentity);
    auto b = cat.lookup("example.com", "testing", "b.txt").entry->rep(Encoding::kIdentity);
    EXPECT_TRUE(a->bytes);
    EXPECT_FALSE(b->bytes);
    ASSERT_TRUE(b->file);
    EXPECT_EQ(body_of(*b), std::string(80, 'b'));
    EXPECT_EQ(cat.stats().memory_bytes, 80u);
    EXPECT_EQ(cat.stats().file_bytes, 80u);
}

TEST_F(CatalogTest, DamagedBodyFailsAndTheOldReleaseKeepsServing) {
    Catalog cat(*store_, settings_);
    ASSERT_TRUE(cat.activate("example.com", "testing", "r1", manifest({put("a.txt", "one")})));

    auto bad = put("a.txt", "two");
    bad.sha256 = sha256_hex("something else");  // the stored bytes do not match the manifest
    auto r = cat.activate("example.com", "testing", "r2", manifest({put("b.txt", "b"), bad}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kIo);
    EXPECT_NE(r.error().detail.find("a.txt"), std::string::npos) << r.error().detail;

    auto gone = put("c.txt", "c");
    gone.version_id = "no-such-version";
    EXPECT_FALSE(cat.activate("example.com", "testing", "r3", manifest({gone})));

    auto short_entry = put("d.txt", "dddd");
    short_entry.size = 3;
    EXPECT_FALSE(cat.activate("example.com", "testing", "r4", manifest({short_entry})));

    auto odd = put("e.txt", "e");
    add_variant(odd, "lzma", "x");
    auto r5 = cat.activate("example.com", "testing", "r5", manifest({odd}));
    ASSERT_FALSE(r5);
    EXPECT_EQ(r5.error().code, Errc::kInvalidArgument);

    EXPECT_EQ(cat.serving("example.com", "testing"), "r1");
    auto got = cat.lookup("example.com", "testing", "a.txt");
    ASSERT_EQ(got.kind, Lookup::kFile);
    EXPECT_EQ(body_of(*got.entry->rep(Encoding::kIdentity)), "one");
    EXPECT_EQ(cat.lookup("example.com", "testing", "b.txt").kind, Lookup::kNotFound);
}

TEST_F(CatalogTest, BodiesAreSharedAndFreedWithTheirLastUser) {
    settings_.max_memory_file = 4;
    Catalog cat(*store_, settings_);
    auto a = put("a.txt", "same bytes");
    auto b = put("b.txt", "same bytes");
    ASSERT_TRUE(cat.activate("example.com", "testing", "r1", manifest({a, b})));
    ASSERT_TRUE(cat.activate("example.com", "production", "r1", manifest({a})));
    auto ra = cat.lookup("example.com", "testing", "a.txt").entry->rep(Encoding::kIdentity);
    auto rb = cat.lookup("example.com", "testing", "b.txt").entry->rep(Encoding::kIdentity);
    auto rp = cat.lookup("example.com", "production", "a.txt").entry->rep(Encoding::kIdentity);
    ASSERT_TRUE(ra->file);
    EXPECT_EQ(ra->file, rb->file);  // one temporary file for the one content
    EXPECT_EQ(ra->file, rp->file);
    EXPECT_EQ(cat.stats().bodies, 1u);
    EXPECT_EQ(cat.stats().file_bytes, 10u);

    cat.clear("example.com", "testing");
    EXPECT_EQ(cat.lookup("example.com", "testing", "a.txt").kind, Lookup::kNotFound);
    EXPECT_EQ(cat.serving("example.com", "testing"), "");
    EXPECT_EQ(cat.stats().environments, 1u);
    cat.clear("example.com", "production");
    EXPECT_EQ(cat.stats().environments, 0u);
    // A response still holding the representation keeps its body readable.
    EXPECT_EQ(body_of(*rp), "same bytes");
    EXPECT_EQ(cat.stats().bodies, 1u);
    ra.reset();
    rb.reset();
    rp.reset();
    EXPECT_EQ(cat.stats().bodies, 0u);
    EXPECT_EQ(cat.stats().file_bytes, 0u);
}

TEST_F(CatalogTest, LookupsNeverFailOrMixDuringActivation) {
    Catalog cat(*store_, settings_);
    std::vector<Manifest> ms;
    for (const std::string mark : {"A", "B"})
        ms.push_back(manifest({put(mark + "/x.txt", mark + "-x"), put(mark + "/y.txt", mark + "-y"),
                               put("x.txt", mark), put("y.txt", mark)}));
    ASSERT_TRUE(cat.activate("example.com", "testing", "A", ms[0]));

    std::atomic<bool> stop{false};
    std::atomic<int> failures{0}, lookups{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t)
        readers.emplace_back([&] {
            while (!stop.load()) {
                auto x = cat.lookup("example.com", "testing", "x.txt");
                if (x.kind != Lookup::kFile) {
                    ++failures;
                    continue;
                }
                // Every lookup finds a file of one release or the other, never a gap.
                const std::string mark = *x.entry->rep(Encoding::kIdentity)->bytes;
                auto y = cat.lookup("example.com", "testing", "y.txt");
                if (y.kind != Lookup::kFile || (mark != "A" && mark != "B")) ++failures;
                ++lookups;
            }
        });
    // On a loaded machine the readers may not have run yet: let them start first, so the
    // switches below happen while they look up.
    while (lookups.load() < 10) std::this_thread::yield();
    for (int i = 0; i < 40; ++i) {
        const auto& m = ms[static_cast<std::size_t>(i % 2 == 0 ? 1 : 0)];
        ASSERT_TRUE(cat.activate("example.com", "testing", i % 2 == 0 ? "B" : "A", m));
    }
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GT(lookups.load(), 0);
    EXPECT_EQ(cat.serving("example.com", "testing"), "A");
    EXPECT_EQ(cat.lookup("example.com", "testing", "B").kind, Lookup::kNotFound);
    EXPECT_EQ(cat.lookup("example.com", "testing", "A").kind, Lookup::kDirectory);
}

}  // namespace
}  // namespace moat::release

#include "content/file_cache.h"

#include <brotli/decode.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "content/http_date.h"
#include "content/internal/compress.h"

namespace moat::content {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards; `root` is the site folder, `outside` a
// sibling folder that must stay unreachable.
class FileCacheTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "moat-fc-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        base_ = tmpl;
        root_ = (base_ / "root").string();
        fs::create_directories(root_);
        fs::create_directories(base_ / "outside");
    }
    void TearDown() override { fs::remove_all(base_); }

    void write(const std::string& rel, std::string_view data, fs::path dir = {}) {
        fs::path p = (dir.empty() ? fs::path(root_) : dir) / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary | std::ios::trunc).write(data.data(), data.size());
    }
    // Sets mtime to `sec` seconds after the epoch (plus `nsec`).
    void set_mtime(const std::string& rel, std::time_t sec, long nsec = 0) {
        timespec ts[2] = {{sec, nsec}, {sec, nsec}};
        ASSERT_EQ(::utimensat(AT_FDCWD, (fs::path(root_) / rel).c_str(), ts, 0), 0);
    }

    static FileCacheSettings fast_settings() {
        FileCacheSettings s;
        s.brotli_level = 5;
        s.zstd_level = 3;
        s.gzip_level = 6;
        return s;
    }

    // After the watcher caught up with the test's writes: a get() sees a change once the
    // watcher thread counted its inotify event (see FileCache). The Watched* tests below call
    // FileCache::get() directly instead, to see how soon that is.
    LookupResult get(FileCache& c, std::string_view rel, bool pre = false, bool comp = false,
                     int worker = 0) {
        c.sync_changes();
        auto r = c.get(root_, rel, worker, pre, comp);
        EXPECT_TRUE(r.has_value()) << rel << ": " << (r ? "" : r.error().detail);
        return r ? *r : LookupResult{};
    }

    fs::path base_;
    std::string root_;
};

std::string body_of(const Representation& r) {
    if (r.bytes) return *r.bytes;
    std::string out(r.size, '\0');
    EXPECT_TRUE(r.file);
    EXPECT_EQ(::pread(r.file->fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
}

std::string decompress(Encoding e, const std::string& in) {
    if (e == Encoding::kBrotli) {
        std::string out(1 << 22, '\0');
        std::size_t n = out.size();
        EXPECT_EQ(BrotliDecoderDecompress(in.size(), reinterpret_cast<const uint8_t*>(in.data()),
                                          &n, reinterpret_cast<uint8_t*>(out.data())),
                  BROTLI_DECODER_RESULT_SUCCESS);
        out.resize(n);
        return out;
    }
    if (e == Encoding::kZstd) {
        auto size = ZSTD_getFrameContentSize(in.data(), in.size());
        EXPECT_NE(size, ZSTD_CONTENTSIZE_ERROR);
        std::string out(size, '\0');
        std::size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
        EXPECT_FALSE(ZSTD_isError(n));
        out.resize(n);
        return out;
    }
    z_stream zs{};
    EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);  // gzip wrapper only
    std::string out(1 << 22, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return out;
}

std::string text(std::size_t n) {
    std::string s;
    while (s.size() < n) s += "<p>The quick brown fox jumps over the lazy dog, again.</p>\n";
    s.resize(n);
    return s;
}

std::string random_bytes(std::size_t n, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
}

constexpr EncodingSet kCodingsSet =
    encoding_bit(Encoding::kBrotli) | encoding_bit(Encoding::kZstd) | encoding_bit(Encoding::kGzip);

TEST_F(FileCacheTest, FindsFileWithTypeValidatorsAndBody) {
    write("index.html", "<h1>hi</h1>");
    set_mtime("index.html", 784111777);
    FileCache c(fast_settings());
    auto r = get(c, "index.html");
    ASSERT_EQ(r.kind, Lookup::kFile);
    const FileEntry& e = *r.entry;
    EXPECT_EQ(e.path, "index.html");
    EXPECT_EQ(e.content_type, "text/html; charset=utf-8");
    EXPECT_TRUE(e.compressible);
    EXPECT_EQ(e.mtime, 784111777);
    EXPECT_EQ(e.last_modified, "Sun, 06 Nov 1994 08:49:37 GMT");
    auto id = e.rep(Encoding::kIdentity);
    ASSERT_TRUE(id);
    EXPECT_EQ(id->size, 11u);
    ASSERT_TRUE(id->bytes);
    EXPECT_EQ(*id->bytes, "<h1>hi</h1>");
    // 22 base64url characters of the SHA-256, quoted.
    ASSERT_EQ(id->etag.size(), 24u);
    EXPECT_EQ(id->etag.front(), '"');
    EXPECT_EQ(id->etag.back(), '"');
    EXPECT_EQ(e.available(), encoding_bit(Encoding::kIdentity));

    // Same content elsewhere: same validator (the ETag depends on the bytes only).
    write("copy.html", "<h1>hi</h1>");
    EXPECT_EQ(get(c, "copy.html").entry->rep(Encoding::kIdentity)->etag, id->etag);
}

TEST_F(FileCacheTest, SecondGetIsAHitAndSharesTheEntry) {
    write("a.txt", "hello");
    FileCache c(fast_settings());
    auto r1 = get(c, "a.txt");
    auto r2 = get(c, "a.txt");
    EXPECT_EQ(r1.entry, r2.entry);
    auto st = c.stats();
    EXPECT_EQ(st.misses, 1u);
    EXPECT_EQ(st.hits, 1u);
    EXPECT_EQ(st.bytes, 5u);
}

TEST_F(FileCacheTest, WorkersShareSecondLevelEntries) {
    write("a.txt", "hello");
    auto s = fast_settings();
    s.workers = 3;
    FileCache c(s);
    auto r0 = get(c, "a.txt", false, false, 0);
    auto r2 = get(c, "a.txt", false, false, 2);
    EXPECT_EQ(r0.entry, r2.entry);
}

TEST_F(FileCacheTest, DirectoriesAndMissingPaths) {
    fs::create_directories(fs::path(root_) / "docs");
    write("docs/index.html", "x");
    FileCache c(fast_settings());
    EXPECT_EQ(get(c, "docs").kind, Lookup::kDirectory);
    EXPECT_EQ(get(c, "docs/").kind, Lookup::kDirectory);
    EXPECT_EQ(get(c, "").kind, Lookup::kDirectory);
    EXPECT_EQ(get(c, "missing.html").kind, Lookup::kNotFound);
    EXPECT_EQ(get(c, "docs/index.html/").kind, Lookup::kNotFound);
    EXPECT_EQ(get(c, "docs/missing/x").kind, Lookup::kNotFound);
    EXPECT_EQ(get(c, "docs/index.html").kind, Lookup::kFile);

    auto r = c.get(root_ + "-does-not-exist", "x", 0, false, false);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, Lookup::kNotFound);
}

TEST_F(FileCacheTest, CannotLeaveTheRoot) {
    write("secret.txt", "top secret", base_ / "outside");
    write("inside.txt", "ok");
    fs::create_symlink("../outside/secret.txt", fs::path(root_) / "link.txt");
    fs::create_symlink(base_ / "outside" / "secret.txt", fs::path(root_) / "abslink.txt");
    fs::create_symlink("../outside", fs::path(root_) / "outdir");
    fs::create_symlink("/proc/self/root/etc/hostname", fs::path(root_) / "magic");
    FileCache c(fast_settings());
    for (std::string_view rel : {"link.txt", "abslink.txt", "outdir/secret.txt", "outdir",
                                 "../outside/secret.txt", "/etc/passwd", "magic"})
        EXPECT_EQ(get(c, rel).kind, Lookup::kNotFound) << rel;
    EXPECT_EQ(get(c, "inside.txt").kind, Lookup::kFile);
}

TEST_F(FileCacheTest, SymlinksInsideTheRootWork) {
    write("real/page.html", "page");
    fs::create_symlink("real/page.html", fs::path(root_) / "alias.html");
    fs::create_symlink("real", fs::path(root_) / "dir");
    FileCache c(fast_settings());
    auto a = get(c, "alias.html");
    ASSERT_EQ(a.kind, Lookup::kFile);
    EXPECT_EQ(*a.entry->rep(Encoding::kIdentity)->bytes, "page");
    EXPECT_EQ(get(c, "dir/page.html").kind, Lookup::kFile);
    EXPECT_EQ(get(c, "dir").kind, Lookup::kDirectory);

    // Retargeting the link outside the root afterwards is caught on the next get().
    write("secret.txt", "secret", base_ / "outside");
    fs::remove(fs::path(root_) / "alias.html");
    fs::create_symlink("../outside/secret.txt", fs::path(root_) / "alias.html");
    EXPECT_EQ(get(c, "alias.html").kind, Lookup::kNotFound);
}

TEST_F(FileCacheTest, SpecialFilesAreNotFound) {
    ASSERT_EQ(::mkfifo((fs::path(root_) / "pipe.html").c_str(), 0644), 0);
    FileCache c(fast_settings());
    EXPECT_EQ(get(c, "pipe.html").kind, Lookup::kNotFound);  // and does not hang
}

TEST_F(FileCacheTest, NeverStaleAfterInPlaceRewrite) {
    write("a.txt", "aaaa");
    set_mtime("a.txt", 1000000000);
    FileCache c(fast_settings());
    auto first = get(c, "a.txt");
    std::string etag1 = first.entry->rep(Encoding::kIdentity)->etag;

    // Same size, new content, new mtime.
    write("a.txt", "bbbb");
    set_mtime("a.txt", 1000000001);
    auto second = get(c, "a.txt");
    EXPECT_EQ(*second.entry->rep(Encoding::kIdentity)->bytes, "bbbb");
    std::string etag2 = second.entry->rep(Encoding::kIdentity)->etag;
    EXPECT_NE(etag1, etag2);
    EXPECT_EQ(second.entry->mtime, 1000000001);

    // Same size and the old mtime restored: ctime still changes.
    write("a.txt", "cccc");
    set_mtime("a.txt", 1000000001);
    auto third = get(c, "a.txt");
    EXPECT_EQ(*third.entry->rep(Encoding::kIdentity)->bytes, "cccc");
    EXPECT_NE(third.entry->rep(Encoding::kIdentity)->etag, etag2);

    // The old entry stays intact for responses still using it.
    EXPECT_EQ(*first.entry->rep(Encoding::kIdentity)->bytes, "aaaa");

    // Deleted: not found, not the cached copy.
    fs::remove(fs::path(root_) / "a.txt");
    EXPECT_EQ(get(c, "a.txt").kind, Lookup::kNotFound);
}

TEST_F(FileCacheTest, CompressedVariantsAppearAndRoundTrip) {
    std::string body = text(20000);
    write("app.js", body);
    FileCache c(fast_settings());
    auto r = get(c, "app.js", false, true);
    ASSERT_EQ(r.kind, Lookup::kFile);
    c.wait_idle();
    auto e = get(c, "app.js", false, true).entry;
    EXPECT_EQ(e, r.entry);  // variants are published into the same entry
    EXPECT_EQ(e->available(), kCodingsSet | encoding_bit(Encoding::kIdentity));
    std::string id_etag = e->rep(Encoding::kIdentity)->etag;
    std::string hash = id_etag.substr(1, id_etag.size() - 2);
    struct V {
        Encoding e;
        const char* suffix;
    };
    for (V v : {V{Encoding::kBrotli, "br"}, V{Encoding::kZstd, "zstd"}, V{Encoding::kGzip, "gz"}}) {
        auto rep = e->rep(v.e);
        ASSERT_TRUE(rep);
        EXPECT_EQ(rep->encoding, v.e);
        ASSERT_TRUE(rep->bytes);
        EXPECT_EQ(rep->size, rep->bytes->size());
        EXPECT_LT(rep->size, body.size());
        EXPECT_EQ(rep->etag, "\"" + hash + "-" + v.suffix + "\"");
        EXPECT_EQ(decompress(v.e, *rep->bytes), body);
    }
    auto st = c.stats();
    EXPECT_EQ(st.compressions, 3u);
    std::uint64_t expect_bytes = body.size();
    for (Encoding x : {Encoding::kBrotli, Encoding::kZstd, Encoding::kGzip})
        expect_bytes += e->rep(x)->size;
    EXPECT_EQ(st.bytes, expect_bytes);
}

TEST_F(FileCacheTest, NoVariantsWhenNotWanted) {
    write("app.js", text(20000));
    write("tiny.js", "var x = 1;");
    write("photo.png", text(20000));  // compressible bytes, but not a compressible type
    FileCache c(fast_settings());
    EXPECT_EQ(get(c, "app.js", false, false).entry->available(), 1);  // compress=false
    get(c, "tiny.js", false, true);
    get(c, "photo.png", false, true);
    c.wait_idle();
    EXPECT_EQ(get(c, "tiny.js", false, true).entry->available(), 1);    // below minimum
    EXPECT_EQ(get(c, "photo.png", false, true).entry->available(), 1);  // image
    EXPECT_EQ(c.stats().compressions, 0u);
}

TEST_F(FileCacheTest, SettingsSharingARootKeepTheirOwnEntries) {
    // Two sites on one folder, one compressing and one not: asking through the second must not
    // throw away (and later re-make) the first one's variants.
    write("app.js", text(20000));
    FileCache c(fast_settings());
    get(c, "app.js", false, true);
    c.wait_idle();
    auto compressing = get(c, "app.js", false, true).entry;
    ASSERT_EQ(compressing->available(), kCodingsSet | encoding_bit(Encoding::kIdentity));
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(get(c, "app.js", false, false).entry->available(), 1);
        EXPECT_EQ(get(c, "app.js", true, false).entry->available(), 1);
        EXPECT_EQ(get(c, "app.js", false, true).entry, compressing);
    }
    c.wait_idle();
    EXPECT_EQ(c.stats().compressions, 3u);
}

TEST_F(FileCacheTest, IncompressibleDataGetsNoVariant) {
    write("noise.txt", random_bytes(50000));
    FileCache c(fast_settings());
    get(c, "noise.txt", false, true);
    c.wait_idle();
    EXPECT_EQ(get(c, "noise.txt", false, true).entry->available(),
              encoding_bit(Encoding::kIdentity));
}

TEST_F(FileCacheTest, UsesPrecompressedSiblings) {
    std::string body = text(5000);
    write("app.css", body);
    set_mtime("app.css", 1000000000);
    auto br = internal::compress(Encoding::kBrotli, body, 9);
    ASSERT_TRUE(br);
    write("app.css.br", *br);
    set_mtime("app.css.br", 1000000000);  // same mtime counts as fresh
    write("app.css.gz", "stale gzip");
    set_mtime("app.css.gz", 999999999);  // older than the file: ignored
    FileCache c(fast_settings());

    auto e = get(c, "app.css", true, false).entry;
    EXPECT_EQ(e->available(), encoding_bit(Encoding::kIdentity) | encoding_bit(Encoding::kBrotli));
    auto rep = e->rep(Encoding::kBrotli);
    EXPECT_EQ(*rep->bytes, *br);
    EXPECT_EQ(rep->size, br->size());
    EXPECT_EQ(rep->etag.substr(rep->etag.size() - 4), "-br\"");
    EXPECT_NE(rep->etag.substr(0, 23), e->rep(Encoding::kIdentity)->etag.substr(0, 23));

    // Without `precompressed` the sibling is not used.
    EXPECT_EQ(get(c, "app.css", false, false).entry->available(), 1);

    // With compression too: br stays the site's file, zstd and gzip are made.
    auto r = get(c, "app.css", true, true);
    c.wait_idle();
    e = get(c, "app.css", true, true).entry;
    EXPECT_EQ(e->available(), kCodingsSet | 1);
    EXPECT_EQ(*e->rep(Encoding::kBrotli)->bytes, *br);
    EXPECT_EQ(c.stats().compressions, 2u);

    // Changing the sibling is noticed on the next hit.
    auto br2 = internal::compress(Encoding::kBrotli, body, 1);
    ASSERT_TRUE(br2);
    write("app.css.br", *br2);
    set_mtime("app.css.br", 1000000005);
    e = get(c, "app.css", true, false).entry;
    EXPECT_EQ(*e->rep(Encoding::kBrotli)->bytes, *br2);
}

TEST_F(FileCacheTest, NoticesSiblingWrittenAfterTheFile) {
    std::string body = text(5000);
    write("app.js", body);
    set_mtime("app.js", 1000000000);
    FileCache c(fast_settings());
    EXPECT_EQ(get(c, "app.js", true, false).entry->available(), 1);
    auto gz = internal::compress(Encoding::kGzip, body, 9);
    ASSERT_TRUE(gz);
    write("app.js.gz", *gz);
    set_mtime("app.js.gz", 1000000001);
    auto e = get(c, "app.js", true, false).entry;
    EXPECT_EQ(e->available(), encoding_bit(Encoding::kIdentity) | encoding_bit(Encoding::kGzip));
    EXPECT_EQ(decompress(Encoding::kGzip, *e->rep(Encoding::kGzip)->bytes), body);
}

TEST_F(FileCacheTest, LargeFileServedFromDescriptorAndHashedInBackground) {
    std::string body = text(100000);
    write("big.html", body);
    auto s = fast_settings();
    s.max_memory_file = 4096;
    FileCache c(s);
    auto e = get(c, "big.html", false, true).entry;
    auto id = e->rep(Encoding::kIdentity);
    EXPECT_FALSE(id->bytes);
    ASSERT_TRUE(id->file);
    EXPECT_EQ(id->size, body.size());
    EXPECT_EQ(body_of(*id), body);
    c.wait_idle();
    auto after = e->rep(Encoding::kIdentity);
    EXPECT_FALSE(after->etag.empty());
    EXPECT_EQ(after->file, id->file);  // same descriptor, now with its validator
    EXPECT_EQ(c.stats().bytes, e->rep(Encoding::kBrotli)->size + e->rep(Encoding::kZstd)->size +
                                   e->rep(Encoding::kGzip)->size);
    EXPECT_EQ(decompress(Encoding::kZstd, *e->rep(Encoding::kZstd)->bytes), body);

    // The validator is the content hash: a small-file cache gives the same one.
    FileCache small(fast_settings());
    EXPECT_EQ(get(small, "big.html").entry->rep(Encoding::kIdentity)->etag, after->etag);
}

// available() is kept apart from `reps` (one load on the hot path): it must name exactly the
// representations that exist, including those published later by background jobs (a hashed
// large sibling, the identity's validator, compressed variants).
TEST_F(FileCacheTest, AvailableMatchesPublishedRepresentations) {
    write("big.js", text(20000));
    write("big.js.br", text(9000));  // not real brotli: served as the site's own file
    auto s = fast_settings();
    s.max_memory_file = 4096;
    FileCache c(s);
    auto e = get(c, "big.js", true, true).entry;
    auto present = [&] {
        EncodingSet set = 0;
        for (int i = 0; i < kEncodingCount; ++i)
            if (e->rep(static_cast<Encoding>(i))) set |= encoding_bit(static_cast<Encoding>(i));
        return set;
    };
    EncodingSet early = e->available();  // the background job may have run already
    EXPECT_TRUE(early & encoding_bit(Encoding::kIdentity));
    EXPECT_EQ(early & ~present(), 0);  // every encoding it names has a representation
    c.wait_idle();
    EXPECT_EQ(e->available(), present());
    EXPECT_EQ(e->available(), kCodingsSet | encoding_bit(Encoding::kIdentity));
    EXPECT_FALSE(e->rep(Encoding::kBrotli)->etag.empty());
    EXPECT_EQ(body_of(*e->rep(Encoding::kBrotli)), text(9000));
}

TEST_F(FileCacheTest, LargeFileAboveCompressLimitIsNotCompressed) {
    write("big.txt", text(50000));
    auto s = fast_settings();
    s.max_memory_file = 1000;
    s.max_compress_file = 10000;
    FileCache c(s);
    get(c, "big.txt", false, true);
    c.wait_idle();
    auto e = get(c, "big.txt", false, true).entry;
    EXPECT_EQ(e->available(), 1);
    EXPECT_FALSE(e->rep(Encoding::kIdentity)->etag.empty());
}

TEST_F(FileCacheTest, MemoryStaysBounded) {
    auto s = fast_settings();
    s.max_bytes = 64 * 1024;
    s.max_memory_file = 8 * 1024;
    FileCache c(s);
    std::vector<std::weak_ptr<const FileEntry>> seen;
    for (int i = 0; i < 100; ++i) {
        std::string name = "f" + std::to_string(i) + ".bin";
        write(name, random_bytes(4096, i));
        auto r = get(c, name);
        ASSERT_EQ(r.kind, Lookup::kFile);
        seen.push_back(r.entry);
        EXPECT_LE(c.stats().bytes, s.max_bytes);
    }
    // Evicted entries are really freed, even though the worker map once pointed at them.
    int alive = 0;
    for (auto& w : seen) alive += !w.expired();
    EXPECT_LE(alive * 4096, static_cast<int>(s.max_bytes));
    EXPECT_GT(alive, 0);
    // Evicted files are rebuilt on demand.
    auto again = get(c, "f0.bin");
    EXPECT_EQ(again.kind, Lookup::kFile);
    EXPECT_EQ(*again.entry->rep(Encoding::kIdentity)->bytes, random_bytes(4096, 0));
}

TEST_F(FileCacheTest, EntryCountStaysBounded) {
    auto s = fast_settings();
    s.max_entries = 8;
    FileCache c(s);
    std::vector<std::weak_ptr<const FileEntry>> seen;
    for (int i = 0; i < 40; ++i) {
        std::string name = "f" + std::to_string(i) + ".txt";
        write(name, name);
        seen.push_back(get(c, name).entry);
    }
    int alive = 0;
    for (auto& w : seen) alive += !w.expired();
    EXPECT_LE(alive, 8);
}

TEST_F(FileCacheTest, ConcurrentGets) {
    constexpr int kWorkers = 4;
    constexpr int kFiles = 16;
    std::vector<std::string> bodies;
    for (int i = 0; i < kFiles; ++i) {
        bodies.push_back(text(1000 + 500 * i) + std::to_string(i));
        write("f" + std::to_string(i) + ".html", bodies.back());
    }
    auto s = fast_settings();
    s.workers = kWorkers;
    s.compress_threads = 2;
    s.max_bytes = 64 * 1024;  // small enough that eviction runs concurrently too
    FileCache c(s);
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (int w = 0; w < kWorkers; ++w) {
        threads.emplace_back([&, w] {
            for (int round = 0; round < 200; ++round) {
                int i = (round * 7 + w) % kFiles;
                auto r = c.get(root_, "f" + std::to_string(i) + ".html", w, false, true);
                if (!r || r->kind != Lookup::kFile) {
                    ++errors;
                    continue;
                }
                const FileEntry& e = *r->entry;
                if (*e.rep(Encoding::kIdentity)->bytes != bodies[i]) ++errors;
                if (auto gz = e.rep(Encoding::kGzip); gz && gz->bytes->empty()) ++errors;
                (void)e.available();
            }
        });
    }
    for (auto& t : threads) t.join();
    c.wait_idle();
    EXPECT_EQ(errors.load(), 0);
    auto st = c.stats();
    EXPECT_EQ(st.hits + st.misses, kWorkers * 200u);
    EXPECT_LE(st.bytes, s.max_bytes);
}

TEST_F(FileCacheTest, DestructorWithPendingJobsDoesNotHang) {
    for (int i = 0; i < 20; ++i) write("f" + std::to_string(i) + ".js", text(200000));
    auto s = fast_settings();
    s.brotli_level = 11;
    FileCache c(s);
    for (int i = 0; i < 20; ++i) get(c, "f" + std::to_string(i) + ".js", false, true);
}

// --- inotify: hits on watched files make no system call, and are still never stale ---

using Ms = std::chrono::milliseconds;

// The identity body get() returns now.
std::string current(FileCache& c, const std::string& root, std::string_view rel, bool pre = false) {
    auto r = c.get(root, rel, 0, pre, false);
    if (!r || r->kind != Lookup::kFile) return "<none>";
    return body_of(*r->entry->rep(Encoding::kIdentity));
}

// Polls get() until it returns `want`, for at most `bound`. The watcher thread needs a moment
// (microseconds, unless the machine is busy) between a write and the event being counted.
bool becomes(FileCache& c, const std::string& root, std::string_view rel, const std::string& want,
             Ms bound = Ms(500), bool pre = false) {
    auto until = std::chrono::steady_clock::now() + bound;
    for (;;) {
        if (current(c, root, rel, pre) == want) return true;
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

// Long enough for the watcher thread to have handled every event of a completed write: it
// takes microseconds, but a CI machine running two test binaries on two cores may not schedule
// the watcher for tens of milliseconds.
constexpr Ms kSettle(150);

TEST_F(FileCacheTest, WatchedHitsMakeNoSystemCall) {
    write("index.html", text(6000));
    write("index.html.br", "br bytes");
    write("index.html.gz", "gz bytes");
    std::this_thread::sleep_for(kSettle);  // past the "racy" window of the writes above
    FileCache c(fast_settings());
    auto first = get(c, "index.html", true, false).entry;
    ASSERT_EQ(first->available(),
              1 | encoding_bit(Encoding::kBrotli) | encoding_bit(Encoding::kGzip));
    EXPECT_GE(c.stats().watches, 1u);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(get(c, "index.html", true, false).entry, first);
    auto st = c.stats();
    EXPECT_EQ(st.misses, 1u);
    EXPECT_EQ(st.hits, 1000u);
    EXPECT_LE(st.validations, 1u);  // at most one, should an event have raced the build
}

TEST_F(FileCacheTest, WatchedInPlaceRewriteWithSameSizeIsSeen) {
    write("a.txt", "aaaa");
    set_mtime("a.txt", 1000000000);
    FileCache c(fast_settings());
    EXPECT_EQ(current(c, root_, "a.txt"), "aaaa");
    write("a.txt", "bbbb");
    set_mtime("a.txt", 1000000000);  // same size and mtime: only ctime (and the event) differ
    EXPECT_TRUE(becomes(c, root_, "a.txt", "bbbb"));
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(current(c, root_, "a.txt"), "bbbb");
}

TEST_F(FileCacheTest, WatchedRenameOverIsSeen) {
    write("docs/page.html", "old page");
    FileCache c(fast_settings());
    EXPECT_EQ(current(c, root_, "docs/page.html"), "old page");
    write("docs/.page.html.tmp", "new page");
    fs::rename(fs::path(root_) / "docs/.page.html.tmp", fs::path(root_) / "docs/page.html");
    EXPECT_TRUE(becomes(c, root_, "docs/page.html", "new page"));
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(current(c, root_, "docs/page.html"), "new page");
    fs::remove(fs::path(root_) / "docs/page.html");
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(get(c, "docs/page.html").kind, Lookup::kNotFound);
}

TEST_F(FileCacheTest, WatchedDirectoryMovedAwayIsSeen) {
    write("assets/js/app.js", "version 1");
    FileCache c(fast_settings());
    EXPECT_EQ(current(c, root_, "assets/js/app.js"), "version 1");
    // A deploy that swaps a folder above the file's own: no event names app.js.
    fs::rename(fs::path(root_) / "assets", fs::path(root_) / "assets.old");
    write("assets/js/app.js", "version 2");
    EXPECT_TRUE(becomes(c, root_, "assets/js/app.js", "version 2"));
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(current(c, root_, "assets/js/app.js"), "version 2");
    // And the new folder is watched in turn.
    write("assets/js/app.js", "version 3");
    EXPECT_TRUE(becomes(c, root_, "assets/js/app.js", "version 3"));
    auto before = c.stats().validations;
    for (int i = 0; i < 100; ++i) current(c, root_, "assets/js/app.js");
    EXPECT_LE(c.stats().validations - before, 2u);
}

TEST_F(FileCacheTest, WatchedSiblingAddedChangedAndRemovedIsSeen) {
    std::string body = text(5000);
    write("app.js", body);
    set_mtime("app.js", 1000000000);
    FileCache c(fast_settings());
    EXPECT_EQ(get(c, "app.js", true, false).entry->available(), 1);
    auto available_becomes = [&](EncodingSet want) {
        for (int i = 0; i < 2500; ++i) {  // well below the once-a-second look of unwatched files
            if (get(c, "app.js", true, false).entry->available() == want) return true;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        return false;
    };
    auto br1 = internal::compress(Encoding::kBrotli, body, 1);
    auto br2 = internal::compress(Encoding::kBrotli, body, 9);
    ASSERT_TRUE(br1 && br2);
    ASSERT_NE(*br1, *br2);

    write("app.js.br", *br1);  // added
    set_mtime("app.js.br", 1000000001);
    EXPECT_TRUE(available_becomes(1 | encoding_bit(Encoding::kBrotli)));
    EXPECT_EQ(*get(c, "app.js", true, false).entry->rep(Encoding::kBrotli)->bytes, *br1);

    write("app.js.br", *br2);  // changed
    set_mtime("app.js.br", 1000000001);
    bool changed = false;
    for (int i = 0; i < 2500 && !changed; ++i) {
        changed = *get(c, "app.js", true, false).entry->rep(Encoding::kBrotli)->bytes == *br2;
        if (!changed) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    EXPECT_TRUE(changed);

    fs::remove(fs::path(root_) / "app.js.br");  // removed
    EXPECT_TRUE(available_becomes(1));
    std::this_thread::sleep_for(kSettle);
    EXPECT_EQ(get(c, "app.js", true, false).entry->available(), 1);
}

TEST_F(FileCacheTest, SymlinkedPathsAreNotWatchedButNeverStale) {
    write("real/page.html", "page 1");
    set_mtime("real/page.html", 1000000000);
    fs::create_symlink("real/page.html", fs::path(root_) / "alias.html");
    fs::create_symlink("real", fs::path(root_) / "dir");
    FileCache c(fast_settings());
    EXPECT_EQ(current(c, root_, "alias.html"), "page 1");
    EXPECT_EQ(current(c, root_, "dir/page.html"), "page 1");
    auto before = c.stats().validations;
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(current(c, root_, "alias.html"), "page 1");
        EXPECT_EQ(current(c, root_, "dir/page.html"), "page 1");
    }
    EXPECT_EQ(c.stats().validations - before, 20u);  // a stat per hit

    // Changed through its real path: the events name real/page.html, yet the very next get()
    // through either link sees it (no waiting: the stat does).
    write("real/page.html", "page 2");
    set_mtime("real/page.html", 1000000000);
    EXPECT_EQ(current(c, root_, "alias.html"), "page 2");
    EXPECT_EQ(current(c, root_, "dir/page.html"), "page 2");
}

TEST_F(FileCacheTest, RootSwappedBySymlinkFlipIsSeen) {
    fs::path v1 = base_ / "v1", v2 = base_ / "v2", site = base_ / "site";
    write("index.html", "release 1", v1);
    write("index.html", "release 2", v2);
    fs::create_directory_symlink(v1, site);
    FileCache c(fast_settings());
    EXPECT_EQ(current(c, site.string(), "index.html"), "release 1");

    // Atomic flip, as deploy tools do: a new link renamed over the old one.
    fs::create_directory_symlink(v2, base_ / "site.new");
    fs::rename(base_ / "site.new", site);
    auto flipped = std::chrono::steady_clock::now();
    EXPECT_TRUE(becomes(c, site.string(), "index.html", "release 2", Ms(1000)));
    // Seen by the 100 ms re-check of the root, not the once-a-second look (slack for busy CI).
    EXPECT_LT(std::chrono::steady_clock::now() - flipped, Ms(700));
    std::this_thread::sleep_for(Ms(200));  // past the 100 ms re-check for sure
    EXPECT_EQ(current(c, site.string(), "index.html"), "release 2");
    // The new root's files are watched too.
    write("index.html", "release 2b", v2);
    EXPECT_TRUE(becomes(c, site.string(), "index.html", "release 2b"));
}

TEST_F(FileCacheTest, RapidRewritesAreNeverStale) {
    FileCache c(fast_settings());
    write("live.html", "version 0000");
    EXPECT_EQ(current(c, root_, "live.html"), "version 0000");
    Ms worst(0);
    for (int i = 1; i <= 300; ++i) {
        char want[32];
        std::snprintf(want, sizeof want, "version %04d", i);  // always the same size
        write("live.html", want);
        auto written = std::chrono::steady_clock::now();
        ASSERT_TRUE(becomes(c, root_, "live.html", want)) << "iteration " << i;
        worst = std::max(
            worst, std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - written));
        // Once seen, never the old bytes again.
        for (int k = 0; k < 5; ++k) ASSERT_EQ(current(c, root_, "live.html"), want);
        if (i % 50 == 0) {
            // Strict: the very first get() after the watcher had time for the event.
            std::snprintf(want, sizeof want, "version %04d", ++i);
            write("live.html", want);
            std::this_thread::sleep_for(kSettle);
            ASSERT_EQ(current(c, root_, "live.html"), want) << "iteration " << i;
        }
    }
    RecordProperty("worst_ms", static_cast<int>(worst.count()));
}

TEST_F(FileCacheTest, ConcurrentGetsWhileRewriting) {
    constexpr int kWorkers = 3;
    write("hot.html", "version 0000");
    auto s = fast_settings();
    s.workers = kWorkers;
    FileCache c(s);
    std::atomic<bool> done{false};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWorkers; ++w) {
        threads.emplace_back([&, w] {
            while (!done.load()) {
                auto r = c.get(root_, "hot.html", w, false, false);
                if (!r || r->kind != Lookup::kFile) continue;  // between unlink and rename
                if (r->entry->rep(Encoding::kIdentity)->size != 12) ++errors;
            }
        });
    }
    char want[32];
    for (int i = 1; i <= 100; ++i) {
        std::snprintf(want, sizeof want, "version %04d", i);
        write(".hot.tmp", want);
        fs::rename(fs::path(root_) / ".hot.tmp", fs::path(root_) / "hot.html");
        std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    std::this_thread::sleep_for(kSettle);
    done = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    for (int w = 0; w < kWorkers; ++w) {
        auto r = c.get(root_, "hot.html", w, false, false);
        ASSERT_TRUE(r && r->kind == Lookup::kFile);
        EXPECT_EQ(*r->entry->rep(Encoding::kIdentity)->bytes, want) << "worker " << w;
    }
}

TEST_F(FileCacheTest, WatchLimitFallsBackToStat) {
    write("a.txt", "aaaa");
    set_mtime("a.txt", 1000000000);
    auto s = fast_settings();
    s.simulate_watch_limit = true;  // as when inotify_add_watch fails with ENOSPC
    FileCache c(s);
    EXPECT_EQ(current(c, root_, "a.txt"), "aaaa");
    for (int i = 0; i < 10; ++i) EXPECT_EQ(current(c, root_, "a.txt"), "aaaa");
    auto st = c.stats();
    EXPECT_EQ(st.watches, 0u);
    EXPECT_EQ(st.validations, 10u);
    write("a.txt", "bbbb");
    set_mtime("a.txt", 1000000000);
    EXPECT_EQ(current(c, root_, "a.txt"), "bbbb");  // at once: the stat sees the new ctime
}

TEST_F(FileCacheTest, WatchesStayBoundedAndFollowEviction) {
    auto s = fast_settings();
    s.max_entries = 2;
    s.max_watches = 3;
    FileCache c(s);
    for (int i = 0; i < 10; ++i) {
        std::string rel = "d" + std::to_string(i) + "/f.txt";
        write(rel, rel);
        EXPECT_EQ(current(c, root_, rel), rel);
        // The root plus the folders of at most two cached files.
        EXPECT_LE(c.stats().watches, 3u);
    }
    // Beyond max_watches a file is served with a stat per hit, still correctly.
    write("x/y/z/deep.txt", "deep 1");
    set_mtime("x/y/z/deep.txt", 1000000000);
    EXPECT_EQ(current(c, root_, "x/y/z/deep.txt"), "deep 1");
    EXPECT_LE(c.stats().watches, 3u);
    write("x/y/z/deep.txt", "deep 2");
    set_mtime("x/y/z/deep.txt", 1000000000);
    EXPECT_EQ(current(c, root_, "x/y/z/deep.txt"), "deep 2");
}

}  // namespace
}  // namespace moat::content

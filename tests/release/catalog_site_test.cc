// The catalog behind a real SiteTable: a store-served environment answers with the bytes of its
// release, from memory or from a temporary file, and follows activation.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "release/catalog.h"
#include "site/site_table.h"
#include "store/memory_body.h"

namespace moat::release {
namespace {

namespace fs = std::filesystem;

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

std::string body(const edge::Response& res) {
    const auto& b = res.body;
    if (b.bytes) return b.bytes->substr(b.offset, b.length);
    if (!b.file) return "";
    std::string out(b.length, '\0');
    const ssize_t n = ::pread(b.file->fd, out.data(), out.size(), static_cast<off_t>(b.offset));
    return n < 0 ? "<read error>" : out.substr(0, static_cast<std::size_t>(n));
}

class CatalogSiteTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "moat-catalog-site-XXXXXX").string();
        dir_ = ::mkdtemp(tmpl.data());
        store::StoreSettings ss;
        ss.enabled = true;
        ss.dir = dir_ + "/store";
        ss.default_buckets = false;
        ss.min_free_bytes = 0;
        auto st = store::Store::open(ss);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        ASSERT_TRUE(store_->create_bucket("content"));
        ASSERT_TRUE(store_->set_versioning("content", store::Versioning::kEnabled));

        ReleaseSettings rs;
        rs.max_memory_file = 64;
        rs.cache_dir = dir_ + "/cache";
        catalog_ = std::make_shared<Catalog>(*store_, rs);

        site::SiteSettings s;
        s.host = "example.com";
        s.environments = {{"production", "", "", true}, {"testing", "", "", true}};
        site::SiteTableOptions opts;
        opts.releases = catalog_;
        auto t = site::SiteTable::create(
            {s}, opts, std::make_shared<content::FileCache>(content::FileCacheSettings{}));
        ASSERT_TRUE(t) << t.error().detail;
        table_ = *t;
    }
    void TearDown() override {
        table_.reset();
        catalog_.reset();
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    ManifestEntry put(const std::string& path, const std::string& data) {
        store::MemoryBody b(data);
        auto info = store_->put("content", "testing/example.com/" + path, b, {});
        EXPECT_TRUE(info) << info.error().detail;
        ManifestEntry e;
        e.path = path;
        e.bucket = "content";
        e.key = info->key;
        e.version_id = info->version_id;
        e.sha256 = sha256_hex(data);
        e.size = data.size();
        e.etag = "\"" + e.sha256.substr(0, 32) + "\"";
        e.mtime = 1700000000;
        return e;
    }

    edge::Response get(const std::string& target, const std::string& host, std::string range = {}) {
        edge::Request req;
        req.method = edge::Method::kGet;
        req.method_name = "GET";
        req.target = target;
        req.path = req.target;
        req.host = host;
        req.secure = true;
        req.local_port = 443;
        req.sni = host;
        if (!range.empty()) req.headers.push_back({"range", range_ = std::move(range)});
        edge::Response res;
        table_->handle(req, res);
        return res;
    }

    std::string dir_, range_;
    std::unique_ptr<store::Store> store_;
    std::shared_ptr<Catalog> catalog_;
    std::shared_ptr<site::SiteTable> table_;
};

TEST_F(CatalogSiteTest, ServesTheActivatedReleaseOfEachEnvironment) {
    EXPECT_EQ(get("/", "example.com").status, 404);  // no release yet

    const std::string big(1000, 'b');
    Manifest m;
    m.site = "example.com";
    m.entries = {put("big.txt", big), put("index.html", "<h1>one</h1>")};
    ASSERT_TRUE(catalog_->activate("example.com", "testing", "r1", m));

    auto home = get("/", "test.example.com");
    EXPECT_EQ(home.status, 200);
    EXPECT_EQ(body(home), "<h1>one</h1>");
    EXPECT_EQ(home.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(get("/", "example.com").status, 404);  // production has none

    auto part = get("/big.txt", "test.example.com", "bytes=10-19");
    EXPECT_EQ(part.status, 206);
    EXPECT_TRUE(part.body.file);  // above max_memory_file: from the temporary file
    EXPECT_EQ(body(part), std::string(10, 'b'));

    // Promotion is an activation of the same manifest elsewhere; a new release replaces.
    ASSERT_TRUE(catalog_->activate("example.com", "production", "r1", m));
    EXPECT_EQ(body(get("/", "example.com")), "<h1>one</h1>");
    Manifest m2;
    m2.site = "example.com";
    m2.entries = {put("index.html", "<h1>two</h1>")};
    ASSERT_TRUE(catalog_->activate("example.com", "testing", "r2", m2));
    EXPECT_EQ(body(get("/", "test.example.com")), "<h1>two</h1>");
    EXPECT_EQ(get("/big.txt", "test.example.com").status, 404);
    EXPECT_EQ(body(get("/", "example.com")), "<h1>one</h1>");
}

}  // namespace
}  // namespace moat::release

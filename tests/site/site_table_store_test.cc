// SiteTable with environments served from the store: files come from a ReleaseSource (a fake
// here; release::Catalog in the server) and are answered exactly like files from a folder.

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "site/site_table.h"

namespace moat::site {
namespace {

using content::Encoding;
using content::FileEntry;
using content::Lookup;
using content::LookupResult;
using edge::Response;

// Serves hand-made entries per (site, env); a folder is any prefix of a path ending at '/'.
class FakeReleases : public ReleaseSource {
public:
    void add(const std::string& site, const std::string& env, const std::string& path,
             std::string body, std::string_view type = "text/html; charset=utf-8",
             std::string br = {}) {
        auto e = std::make_shared<FileEntry>();
        e->path = path;
        e->content_type = type;
        e->compressible = true;
        e->mtime = 1700000000;
        e->last_modified = "Tue, 14 Nov 2023 22:13:20 GMT";
        auto id = std::make_shared<content::Representation>();
        id->size = body.size();
        id->etag = "\"etag-" + path + "\"";
        id->bytes = std::make_shared<const std::string>(std::move(body));
        e->reps[0].store(id);
        content::EncodingSet mask = content::encoding_bit(Encoding::kIdentity);
        if (!br.empty()) {
            auto r = std::make_shared<content::Representation>();
            r->encoding = Encoding::kBrotli;
            r->size = br.size();
            r->etag = "\"etag-" + path + "-br\"";
            r->bytes = std::make_shared<const std::string>(std::move(br));
            e->reps[static_cast<int>(Encoding::kBrotli)].store(r);
            mask |= content::encoding_bit(Encoding::kBrotli);
        }
        e->available_mask.store(mask);
        files_[{site, env, path}] = std::move(e);
    }

    LookupResult lookup(std::string_view site, std::string_view env,
                        std::string_view rel) const override {
        ++calls;
        const std::string s(site), v(env), r(rel);
        if (auto it = files_.find({s, v, r}); it != files_.end())
            return {Lookup::kFile, it->second};
        for (const auto& [k, e] : files_)
            if (std::get<0>(k) == s && std::get<1>(k) == v && std::get<2>(k).starts_with(r + "/"))
                return {Lookup::kDirectory, nullptr};
        return {};
    }

    mutable int calls = 0;

private:
    std::map<std::tuple<std::string, std::string, std::string>, std::shared_ptr<const FileEntry>>
        files_;
};

struct Req {
    std::string target = "/";
    std::string host = "example.com";
    std::vector<std::pair<std::string, std::string>> headers;
};

std::string header(const Response& res, std::string_view name) {
    for (const auto& [n, v] : res.extra)
        if (n == name) return v;
    if (res.fixed)
        for (const auto& [n, v] : res.fixed->fields)
            if (n == name) return v;
    return "<none>";
}

std::string body(const Response& res) {
    return res.body.bytes ? res.body.bytes->substr(res.body.offset, res.body.length) : "";
}

class SiteTableStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        releases_ = std::make_shared<FakeReleases>();
        content::FileCacheSettings cs;
        cache_ = std::make_shared<content::FileCache>(cs);
    }

    static SiteSettings store_site() {
        SiteSettings s;
        s.host = "example.com";
        s.environments = {{"production", "", "", true}, {"testing", "", "", true}};
        return s;
    }

    Result<std::shared_ptr<SiteTable>> create(std::vector<SiteSettings> sites, bool with_source) {
        SiteTableOptions opts;
        if (with_source) opts.releases = releases_;
        return SiteTable::create(std::move(sites), std::move(opts), cache_);
    }

    void make(std::vector<SiteSettings> sites) {
        auto t = create(std::move(sites), true);
        ASSERT_TRUE(t) << t.error().detail;
        table_ = *t;
    }

    Response get(const Req& r) {
        edge::Request req;
        req.method = edge::Method::kGet;
        req.method_name = "GET";
        req.target = r.target;
        const std::string_view t = req.target;
        const auto q = t.find('?');
        req.path = t.substr(0, q);
        req.query = q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
        req.host = r.host;
        req.secure = true;
        req.local_port = 443;
        req.sni = r.host;
        for (const auto& [n, v] : r.headers) req.headers.push_back({n, v});
        Response res;
        table_->handle(req, res);
        return res;
    }
    Response get(const std::string& target, const std::string& host = "example.com") {
        return get(Req{target, host, {}});
    }

    std::shared_ptr<FakeReleases> releases_;
    std::shared_ptr<content::FileCache> cache_;
    std::shared_ptr<SiteTable> table_;
};

TEST_F(SiteTableStoreTest, ServesTheReleaseOfEachEnvironment) {
    releases_->add("example.com", "production", "index.html", "<h1>prod</h1>");
    releases_->add("example.com", "testing", "index.html", "<h1>test</h1>");
    releases_->add("example.com", "production", "app.js", "let a = 1;",
                   "text/javascript; charset=utf-8", "BR");
    make({store_site()});

    Response res = get("/");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(body(res), "<h1>prod</h1>");
    EXPECT_EQ(header(res, "etag"), "\"etag-index.html\"");
    EXPECT_EQ(header(res, "last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
    EXPECT_EQ(header(res, "content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(header(res, "cache-control"), "public, max-age=43200");  // the html rule
    EXPECT_EQ(header(res, "strict-transport-security"), "max-age=63072000");
    EXPECT_EQ(res.log_env, "production");

    EXPECT_EQ(body(get("/", "test.example.com")), "<h1>test</h1>");

    // Conditional, range and content coding work on release entries as on files.
    Response cond = get(Req{"/", "example.com", {{"if-none-match", "\"etag-index.html\""}}});
    EXPECT_EQ(cond.status, 304);
    Response range = get(Req{"/app.js", "example.com", {{"range", "bytes=4-5"}}});
    EXPECT_EQ(range.status, 206);
    EXPECT_EQ(body(range), "a ");
    Response br = get(Req{"/app.js", "example.com", {{"accept-encoding", "br, gzip"}}});
    EXPECT_EQ(br.status, 200);
    EXPECT_EQ(header(br, "content-encoding"), "br");
    EXPECT_EQ(header(br, "etag"), "\"etag-app.js-br\"");
    EXPECT_EQ(body(br), "BR");
}

TEST_F(SiteTableStoreTest, FolderWithoutSlashRedirects) {
    releases_->add("example.com", "production", "docs/index.html", "<h1>docs</h1>");
    make({store_site()});
    Response res = get("/docs?x=1");
    EXPECT_EQ(res.status, 301);
    EXPECT_EQ(header(res, "location"), "/docs/?x=1");
    Response idx = get("/docs/");
    EXPECT_EQ(idx.status, 200);
    EXPECT_EQ(body(idx), "<h1>docs</h1>");
}

TEST_F(SiteTableStoreTest, MissingPathServesTheReleasesErrorPage) {
    releases_->add("example.com", "production", "404.html", "<h1>custom 404</h1>");
    auto s = store_site();
    s.error_page = "404.html";
    make({s});
    Response res = get("/nope.html");
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(body(res), "<h1>custom 404</h1>");
    // Testing has no release with the page: the built-in one.
    Response test = get("/nope.html", "test.example.com");
    EXPECT_EQ(test.status, 404);
    EXPECT_NE(body(test).find("404 Not Found"), std::string::npos);
}

TEST_F(SiteTableStoreTest, NoReleaseYetIsNotFound) {
    make({store_site()});
    EXPECT_EQ(get("/").status, 404);
    EXPECT_EQ(get("/a/b.css").status, 404);
    EXPECT_GT(releases_->calls, 0);
}

TEST_F(SiteTableStoreTest, FolderAndStoreEnvironmentsMix) {
    SiteSettings s = store_site();
    char tmpl[] = "/tmp/site_store_test.XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    s.environments[1] = {"testing", "", dir, false};
    make({s});
    releases_->add("example.com", "testing", "index.html", "from the store");
    EXPECT_EQ(get("/", "test.example.com").status, 404);  // the (empty) folder, not the store
    ::rmdir(dir.c_str());
}

TEST_F(SiteTableStoreTest, CreateChecksTheStoreSetup) {
    auto no_source = create({store_site()}, false);
    ASSERT_FALSE(no_source);
    EXPECT_EQ(no_source.error().code, Errc::kInvalidArgument);
    EXPECT_NE(no_source.error().detail.find("store"), std::string::npos);

    SiteSettings both = store_site();
    both.environments[0].root = "/srv/www";
    auto r = create({both}, true);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("either root or store"), std::string::npos) << r.error().detail;

    SiteSettings neither = store_site();
    neither.environments[0].from_store = false;
    EXPECT_FALSE(create({neither}, true));
}

}  // namespace
}  // namespace moat::site

#include "site/site_table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace moat::site {
namespace {

namespace fs = std::filesystem;
using edge::Method;
using edge::Response;
using edge::ResultType;

// A request whose views point into strings it owns.
struct FakeRequest {
    std::string method = "GET";
    std::string target = "/";
    std::string host = "example.com";
    std::string sni = "example.com";
    bool secure = true;
    std::vector<std::pair<std::string, std::string>> headers;

    edge::Request build() const {
        edge::Request r;
        r.method = method == "GET"    ? Method::kGet
                   : method == "HEAD" ? Method::kHead
                                      : Method::kOther;
        r.method_name = method;
        r.target = target;
        const std::string_view t = r.target;
        const auto q = t.find('?');
        r.path = t.substr(0, q);
        r.query = q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
        r.host = host;
        r.secure = secure;
        r.local_port = secure ? 443 : 80;
        r.sni = secure ? std::string_view(sni) : std::string_view{};
        for (const auto& [n, v] : headers) r.headers.push_back({n, v});
        return r;
    }
};

std::string header(const Response& res, std::string_view name) {
    for (const auto& [n, v] : res.extra)
        if (n == name) return v;
    if (res.fixed)
        for (const auto& [n, v] : res.fixed->fields)
            if (n == name) return v;
    return "<none>";
}

bool has_header(const Response& res, std::string_view name) {
    return header(res, name) != "<none>";
}

std::string body(const Response& res) {
    const auto& b = res.body;
    if (b.bytes) return b.bytes->substr(b.offset, b.length);
    if (b.file) {
        std::string out(b.length, '\0');
        const ssize_t n = ::pread(b.file->fd, out.data(), out.size(), static_cast<off_t>(b.offset));
        if (n < 0) return "<read error>";
        out.resize(static_cast<std::size_t>(n));
        return out;
    }
    return "";
}

void write_file(const fs::path& p, const std::string& data) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
}

// Security headers every response of a site carries.
void expect_security_headers(const Response& res, bool https) {
    EXPECT_EQ(header(res, "strict-transport-security"), https ? "max-age=63072000" : "<none>");
    EXPECT_NE(header(res, "content-security-policy").find("default-src 'none'"), std::string::npos);
    EXPECT_EQ(header(res, "x-content-type-options"), "nosniff");
    EXPECT_EQ(header(res, "x-frame-options"), "DENY");
    EXPECT_EQ(header(res, "referrer-policy"), "strict-origin-when-cross-origin");
    EXPECT_TRUE(has_header(res, "permissions-policy"));
    EXPECT_EQ(header(res, "cross-origin-opener-policy"), "same-origin");
    EXPECT_EQ(header(res, "cross-origin-resource-policy"), "same-origin");
    EXPECT_FALSE(has_header(res, "server"));
}

class SiteTableTest : public ::testing::Test {
protected:
    void SetUp() override {
        static std::atomic<int> counter{0};
        dir_ = fs::temp_directory_path() /
               ("site_table_test." + std::to_string(::getpid()) + "." + std::to_string(counter++));
        fs::create_directories(dir_);
        prod_ = dir_ / "prod";
        test_ = dir_ / "test";
        write_file(prod_ / "index.html", "<h1>production home</h1>\n");
        write_file(prod_ / "a/index.html", "<h1>folder a</h1>\n");
        write_file(prod_ / "404.html", "<h1>custom not found</h1>\n");
        write_file(prod_ / "only-prod.html", "production only\n");
        write_file(prod_ / ".env", "SECRET=1\n");
        write_file(prod_ / ".well-known/security.txt", "Contact: mailto:security@example.com\n");
        std::string data;
        for (int i = 0; i < 100; ++i) data.push_back(static_cast<char>('0' + i % 10));
        write_file(prod_ / "data.bin", data);
        std::string js;
        for (int i = 0; i < 400; ++i)
            js += "console.log('moat serves static sites " + std::to_string(i % 7) + "');\n";
        app_js_ = js;
        write_file(prod_ / "app.js", js);
        write_file(test_ / "index.html", "<h1>testing home</h1>\n");

        content::FileCacheSettings cs;
        cs.workers = 1;
        cache_ = std::make_shared<content::FileCache>(cs);
    }

    void TearDown() override {
        table_.reset();
        cache_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    SiteSettings site() const {
        SiteSettings s;
        s.host = "example.com";
        s.aliases = {"www.example.com"};
        s.environments = {{"production", "", prod_.string()}, {"testing", "", test_.string()}};
        return s;
    }

    std::vector<SiteSettings> all_sites(HttpPolicy policy = HttpPolicy::kRedirectHome) const {
        SiteSettings s = site();
        s.http_policy = policy;
        SiteSettings other;
        other.host = "other.example";
        other.environments = {{"production", "", test_.string()}};
        SiteSettings redir;
        redir.host = "old.example";
        redir.aliases = {"www.old.example"};
        redir.redirect_to = "https://new.example/";
        redir.redirect_status = 308;
        return {s, other, redir};
    }

    void make(std::vector<SiteSettings> sites, SiteTableOptions opts = {}) {
        auto t = SiteTable::create(std::move(sites), std::move(opts), cache_);
        ASSERT_TRUE(t) << t.error().detail;
        table_ = *t;
    }

    Response get(const FakeRequest& fr) {
        Response res;
        const edge::Request req = fr.build();
        table_->handle(req, res);
        return res;
    }
    Response get(const std::string& target) {
        FakeRequest fr;
        fr.target = target;
        return get(fr);
    }

    fs::path dir_, prod_, test_;
    std::string app_js_;
    std::shared_ptr<content::FileCache> cache_;
    std::shared_ptr<SiteTable> table_;
};

TEST_F(SiteTableTest, ServesTheIndexOfTheRoot) {
    make(all_sites());
    Response res = get("/");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(body(res), "<h1>production home</h1>\n");
    EXPECT_EQ(header(res, "content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(header(res, "cache-control"), "public, max-age=43200");  // the html rule
    EXPECT_TRUE(has_header(res, "etag"));
    EXPECT_TRUE(has_header(res, "last-modified"));
    EXPECT_EQ(header(res, "accept-ranges"), "bytes");
    EXPECT_EQ(header(res, "vary"), "Accept-Encoding");  // html is compressible
    EXPECT_FALSE(has_header(res, "content-encoding"));
    expect_security_headers(res, true);
    EXPECT_EQ(res.log_site, "example.com");
    EXPECT_EQ(res.log_env, "production");
    EXPECT_FALSE(res.no_body);

    // HTTP/1 serialisation of the shared block matches its fields.
    ASSERT_TRUE(res.fixed);
    EXPECT_NE(res.fixed->http1.find("Strict-Transport-Security: max-age=63072000\r\n"),
              std::string::npos);
}

TEST_F(SiteTableTest, FolderIndexAndSlashRedirect) {
    make(all_sites());
    Response res = get("/a/");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(body(res), "<h1>folder a</h1>\n");

    res = get("/a?q=1&r=2");
    EXPECT_EQ(res.status, 301);
    EXPECT_EQ(header(res, "location"), "/a/?q=1&r=2");
    EXPECT_EQ(res.result, ResultType::kRedirect);
    expect_security_headers(res, true);

    res = get("/a");
    EXPECT_EQ(header(res, "location"), "/a/");

    res = get("/index.html");  // a path with an extension is served as is
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(body(res), "<h1>production home</h1>\n");
}

TEST_F(SiteTableTest, CustomNotFoundPage) {
    make(all_sites());
    Response res = get("/missing.html");
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(body(res), "<h1>custom not found</h1>\n");
    EXPECT_EQ(header(res, "content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(header(res, "cache-control"), "max-age=10");
    EXPECT_FALSE(has_header(res, "etag"));  // the page's validators are not the resource's
    EXPECT_EQ(res.result, ResultType::kError);
    expect_security_headers(res, true);

    res = get("/a/b/");  // folder without an index
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(body(res), "<h1>custom not found</h1>\n");
}

TEST_F(SiteTableTest, BuiltInNotFoundWhenThePageIsMissing) {
    make(all_sites());
    FakeRequest fr;
    fr.host = fr.sni = "test.example.com";  // the testing root has no 404.html
    fr.target = "/nope";
    Response res = get(fr);
    EXPECT_EQ(res.status, 404);
    EXPECT_NE(body(res).find("404 Not Found"), std::string::npos);
    EXPECT_EQ(header(res, "cache-control"), "max-age=10");
    expect_security_headers(res, true);
}

TEST_F(SiteTableTest, OnlyGetAndHead) {
    make(all_sites());
    FakeRequest fr;
    fr.method = "POST";
    Response res = get(fr);
    EXPECT_EQ(res.status, 405);
    EXPECT_EQ(header(res, "allow"), "GET, HEAD");
    EXPECT_EQ(header(res, "cache-control"), "no-store");
    expect_security_headers(res, true);

    fr.method = "HEAD";
    res = get(fr);
    EXPECT_EQ(res.status, 200);
    EXPECT_FALSE(res.no_body);
    EXPECT_EQ(res.body.length, std::string("<h1>production home</h1>\n").size());
}

TEST_F(SiteTableTest, AliasRedirectsToTheCanonicalHostKeepingPathAndQuery) {
    make(all_sites());
    FakeRequest fr;
    fr.host = fr.sni = "www.example.com";
    fr.target = "/a/b.html?x=1";
    Response res = get(fr);
    EXPECT_EQ(res.status, 301);
    EXPECT_EQ(header(res, "location"), "https://example.com/a/b.html?x=1");
    EXPECT_EQ(header(res, "cache-control"), "public, max-age=3600");
    expect_security_headers(res, true);

    SiteTableOptions opts;
    opts.https_port = 8443;
    make(all_sites(), opts);
    res = get(fr);
    EXPECT_EQ(header(res, "location"), "https://example.com:8443/a/b.html?x=1");
}

TEST_F(SiteTableTest, RedirectOnlySite) {
    make(all_sites());
    FakeRequest fr;
    fr.host = fr.sni = "www.old.example";
    fr.target = "/blog/post?id=3";
    Response res = get(fr);
    EXPECT_EQ(res.status, 308);
    EXPECT_EQ(header(res, "location"), "https://new.example/blog/post?id=3");
    EXPECT_EQ(res.log_site, "old.example");
    expect_security_headers(res, true);
}

TEST_F(SiteTableTest, HttpPolicyRedirect) {
    SiteTableOptions opts;
    opts.https_port = 8443;
    make(all_sites(HttpPolicy::kRedirect), opts);
    FakeRequest fr;
    fr.secure = false;
    fr.target = "/a/x.html?q=2";
    Response res = get(fr);
    EXPECT_EQ(res.status, 301);
    EXPECT_EQ(header(res, "location"), "https://example.com:8443/a/x.html?q=2");
    expect_security_headers(res, false);  // RFC 6797 §7.2: no HSTS over HTTP
}

TEST_F(SiteTableTest, HttpPolicyRedirectHome) {
    make(all_sites(HttpPolicy::kRedirectHome));
    FakeRequest fr;
    fr.secure = false;
    fr.target = "/";
    Response res = get(fr);
    EXPECT_EQ(res.status, 301);
    EXPECT_EQ(header(res, "location"), "https://example.com/");
    expect_security_headers(res, false);

    fr.host = "test.example.com";  // same host, not the canonical one
    res = get(fr);
    EXPECT_EQ(header(res, "location"), "https://test.example.com/");

    fr.host = "example.com";
    fr.target = "/index.html";
    res = get(fr);
    EXPECT_EQ(res.status, 403);
    EXPECT_NE(body(res).find("HTTPS is required"), std::string::npos);
    EXPECT_FALSE(has_header(res, "location"));
    expect_security_headers(res, false);
}

TEST_F(SiteTableTest, HttpPolicyRefuse) {
    make(all_sites(HttpPolicy::kRefuse));
    FakeRequest fr;
    fr.secure = false;
    for (const char* t : {"/", "/index.html", "/a/"}) {
        fr.target = t;
        Response res = get(fr);
        EXPECT_EQ(res.status, 403) << t;
        EXPECT_NE(body(res).find("HTTPS is required"), std::string::npos);
        expect_security_headers(res, false);
    }
}

class FakeChallenge : public edge::Handler {
public:
    void handle(const edge::Request& req, Response& res) override {
        res.status = 200;
        res.body.bytes = std::make_shared<const std::string>("token.thumbprint");
        res.body.length = 16;
    }
};

TEST_F(SiteTableTest, AcmeHttpChallengeIsTheOnlyBypass) {
    SiteTableOptions opts;
    opts.http_challenge = std::make_shared<FakeChallenge>();
    make(all_sites(HttpPolicy::kRefuse), opts);
    FakeRequest fr;
    fr.secure = false;
    fr.target = "/.well-known/acme-challenge/abc";
    Response res = get(fr);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(body(res), "token.thumbprint");
    fr.target = "/.well-known/security.txt";
    EXPECT_EQ(get(fr).status, 403);
}

TEST_F(SiteTableTest, UnknownHostIsMisdirected) {
    make(all_sites());
    FakeRequest fr;
    fr.host = fr.sni = "unknown.example";
    Response res = get(fr);
    EXPECT_EQ(res.status, 421);
    EXPECT_NE(body(res).find("Misdirected"), std::string::npos);
    EXPECT_EQ(header(res, "x-content-type-options"), "nosniff");
    EXPECT_TRUE(res.log_site.empty());

    fr.secure = false;
    EXPECT_EQ(get(fr).status, 421);
}

TEST_F(SiteTableTest, HostAndSniOfDifferentSitesAreMisdirected) {
    make(all_sites());
    FakeRequest fr;
    fr.host = "example.com";
    fr.sni = "other.example";
    Response res = get(fr);
    EXPECT_EQ(res.status, 421);
    EXPECT_EQ(body(res).find("production"), std::string::npos);

    fr.sni = "unknown.example";
    EXPECT_EQ(get(fr).status, 421);

    fr.sni = "WWW.Example.COM";  // an alias of the same site, SNI case-insensitive
    EXPECT_EQ(get(fr).status, 200);
    fr.sni = "test.example.com";  // another environment of the same site
    EXPECT_EQ(get(fr).status, 200);
}

TEST_F(SiteTableTest, HostLookupIgnoresATrailingDot) {
    make(all_sites());
    FakeRequest fr;
    fr.host = "example.com.";
    EXPECT_EQ(get(fr).status, 200);
}

TEST_F(SiteTableTest, DotfilesAreHiddenButWellKnownIsServed) {
    make(all_sites());
    Response res = get("/.env");
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(body(res).find("SECRET"), std::string::npos);
    res = get("/%2eenv");
    EXPECT_EQ(res.status, 404);

    res = get("/.well-known/security.txt");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(body(res), "Contact: mailto:security@example.com\n");
    EXPECT_EQ(header(res, "content-type"), "text/plain; charset=utf-8");
}

TEST_F(SiteTableTest, BadPathsAreRefused) {
    make(all_sites());
    for (const char* t : {"/%2e%2e/etc/passwd", "/../etc/passwd", "/a%00", "/a%5c..", "/a%zz"}) {
        Response res = get(t);
        EXPECT_EQ(res.status, 400) << t;
        EXPECT_EQ(header(res, "cache-control"), "no-store");
        expect_security_headers(res, true);
    }
    EXPECT_EQ(get("/a%2findex.html").status, 404);
    EXPECT_EQ(get("//index.html").status, 404);
}

TEST_F(SiteTableTest, ConditionalGetKeepsHeaders) {
    make(all_sites());
    Response first = get("/");
    const std::string etag = header(first, "etag");
    ASSERT_NE(etag, "<none>");

    FakeRequest fr;
    fr.headers = {{"if-none-match", etag}};
    Response res = get(fr);
    EXPECT_EQ(res.status, 304);
    EXPECT_TRUE(res.no_body);
    EXPECT_EQ(header(res, "etag"), etag);
    EXPECT_EQ(header(res, "vary"), "Accept-Encoding");
    EXPECT_EQ(header(res, "cache-control"), "public, max-age=43200");
    expect_security_headers(res, true);

    fr.headers = {{"if-match", "\"something-else\""}};
    res = get(fr);
    EXPECT_EQ(res.status, 412);
    expect_security_headers(res, true);
}

TEST_F(SiteTableTest, SingleRanges) {
    make(all_sites());
    FakeRequest fr;
    fr.target = "/data.bin";
    fr.headers = {{"range", "bytes=10-19"}};
    Response res = get(fr);
    EXPECT_EQ(res.status, 206);
    EXPECT_EQ(header(res, "content-range"), "bytes 10-19/100");
    EXPECT_EQ(body(res), "0123456789");
    EXPECT_EQ(res.range_start, 10u);
    EXPECT_EQ(res.range_end, 19u);
    expect_security_headers(res, true);

    fr.headers = {{"range", "bytes=200-"}};
    res = get(fr);
    EXPECT_EQ(res.status, 416);
    EXPECT_EQ(header(res, "content-range"), "bytes */100");
    expect_security_headers(res, true);

    // If-Range that does not match: the whole representation.
    fr.headers = {{"range", "bytes=10-19"}, {"if-range", "\"not-the-etag\""}};
    res = get(fr);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(body(res).size(), 100u);
    EXPECT_FALSE(has_header(res, "content-range"));

    // If-Range with the current ETag: the range.
    const std::string etag = header(get("/data.bin"), "etag");
    fr.headers = {{"range", "bytes=-5"}, {"if-range", etag}};
    res = get(fr);
    EXPECT_EQ(res.status, 206);
    EXPECT_EQ(body(res), "56789");

    // HEAD ignores Range (RFC 9110 §14.2).
    fr.method = "HEAD";
    fr.headers = {{"range", "bytes=10-19"}};
    res = get(fr);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body.length, 100u);
}

TEST_F(SiteTableTest, BrotliVariantAfterBackgroundCompression) {
    make(all_sites());
    FakeRequest fr;
    fr.target = "/app.js";
    fr.headers = {{"accept-encoding", "gzip, deflate, br, zstd"}};
    Response res = get(fr);  // schedules compression
    ASSERT_EQ(res.status, 200);
    const std::string identity_etag = header(get("/app.js"), "etag");
    cache_->wait_idle();

    fr.headers = {{"accept-encoding", "br"}};
    res = get(fr);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(header(res, "content-encoding"), "br");
    EXPECT_EQ(header(res, "vary"), "Accept-Encoding");
    EXPECT_NE(header(res, "etag"), identity_etag);
    EXPECT_LT(res.body.length, app_js_.size());
    EXPECT_EQ(header(res, "content-type"), "text/javascript; charset=utf-8");
    expect_security_headers(res, true);

    // Without Accept-Encoding: identity, still with Vary.
    res = get("/app.js");
    EXPECT_FALSE(has_header(res, "content-encoding"));
    EXPECT_EQ(header(res, "vary"), "Accept-Encoding");
    EXPECT_EQ(body(res), app_js_);

    // A Range request is served from identity even when br is acceptable.
    fr.headers = {{"accept-encoding", "br"}, {"range", "bytes=0-6"}};
    res = get(fr);
    EXPECT_EQ(res.status, 206);
    EXPECT_FALSE(has_header(res, "content-encoding"));
    EXPECT_EQ(header(res, "vary"), "Accept-Encoding");
    EXPECT_EQ(body(res), "console");

    // 304 for the br variant carries its own ETag and Vary.
    fr.headers = {{"accept-encoding", "br"}};
    const std::string br_etag = header(get(fr), "etag");
    fr.headers = {{"accept-encoding", "br"}, {"if-none-match", br_etag}};
    res = get(fr);
    EXPECT_EQ(res.status, 304);
    EXPECT_EQ(header(res, "etag"), br_etag);
    EXPECT_EQ(header(res, "content-encoding"), "br");
    EXPECT_EQ(header(res, "vary"), "Accept-Encoding");
}

TEST_F(SiteTableTest, TestingEnvironmentServesItsOwnRoot) {
    make(all_sites());
    FakeRequest fr;
    fr.host = fr.sni = "test.example.com";
    Response res = get(fr);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(body(res), "<h1>testing home</h1>\n");
    EXPECT_EQ(res.log_env, "testing");

    fr.target = "/only-prod.html";
    res = get(fr);
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(body(res).find("production"), std::string::npos);

    // And production still serves its own bytes.
    EXPECT_EQ(body(get("/")), "<h1>production home</h1>\n");
}

TEST_F(SiteTableTest, RepeatedRequestsShareTheHeaderBlock) {
    make(all_sites());
    Response a = get("/data.bin");
    Response b = get("/data.bin");
    EXPECT_EQ(a.fixed.get(), b.fixed.get());
    EXPECT_EQ(b.result, ResultType::kHit);
}

TEST_F(SiteTableTest, CreateRejectsBadSettings) {
    auto dup = all_sites();
    dup[1].aliases = {"www.example.com"};
    auto r = SiteTable::create(dup, {}, cache_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("www.example.com"), std::string::npos);

    auto relative = all_sites();
    relative[0].environments[0].root = "relative/root";
    EXPECT_FALSE(SiteTable::create(relative, {}, cache_));

    auto no_canonical = all_sites();
    no_canonical[0].environments[0].host = "elsewhere.example.com";
    EXPECT_FALSE(SiteTable::create(no_canonical, {}, cache_));

    auto bad_header = all_sites();
    bad_header[0].headers.add = {{"X-A", "b\r\nc"}};
    EXPECT_FALSE(SiteTable::create(bad_header, {}, cache_));

    auto bad_status = all_sites();
    bad_status[2].redirect_status = 200;
    EXPECT_FALSE(SiteTable::create(bad_status, {}, cache_));

    auto traversal = all_sites();
    traversal[0].error_page = "../404.html";
    EXPECT_FALSE(SiteTable::create(traversal, {}, cache_));

    EXPECT_FALSE(SiteTable::create(all_sites(), {}, nullptr));
}

}  // namespace
}  // namespace moat::site

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"

namespace moat::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

const fs::path kData = fs::path(__FILE__).parent_path().parent_path() / "data" / "config";

// Diagnostics as text, with the file shortened to its name so expectations stay readable.
std::vector<std::string> texts(const LoadResult& r) {
    std::vector<std::string> out;
    for (auto d : r.diagnostics) {
        d.file = fs::path(d.file).filename().string();
        out.push_back(d.to_string());
    }
    return out;
}

// Loads `text` as if it were a file next to the fixtures (so "www/example" exists).
LoadResult load(std::string_view text) { return load_string(text, (kData / "moat.toml").string()); }

constexpr std::string_view kSite = "[sites.\"example.com\"]\nroot = \"www/example\"\n";

TEST(LoadFile, ReadsEveryValueOfAFullFile) {
    auto r = load_file((kData / "good.toml").string());
    ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
    EXPECT_TRUE(r.diagnostics.empty()) << ::testing::PrintToString(texts(r));
    const Config& c = *r.config;
    const std::string data = kData.string();

    EXPECT_EQ(c.source, (kData / "good.toml").string());
    EXPECT_EQ(c.data_dir, data + "/state");
    EXPECT_EQ(c.log_level, "debug");

    const auto& e = c.edge;
    EXPECT_EQ(e.https_listen, (std::vector<std::string>{"127.0.0.1:8443", "[::1]:8443"}));
    EXPECT_EQ(e.http_listen, (std::vector<std::string>{"127.0.0.1:8080"}));
    EXPECT_EQ(e.workers, 4);
    EXPECT_EQ(e.metrics_listen, "127.0.0.1:9200");
    EXPECT_EQ(e.node_id, "fra1");
    EXPECT_EQ(e.handshake_timeout, milliseconds(5000));
    EXPECT_EQ(e.header_timeout, milliseconds(8000));
    EXPECT_EQ(e.idle_timeout, milliseconds(120000));
    EXPECT_EQ(e.write_timeout, milliseconds(20000));
    EXPECT_EQ(e.drain_timeout, milliseconds(500));
    EXPECT_EQ(e.max_connections, 5000u);
    EXPECT_EQ(e.max_header_bytes, 32768u);
    EXPECT_EQ(e.max_target_bytes, 4096u);
    EXPECT_EQ(e.max_headers, 50u);
    EXPECT_EQ(e.max_requests_per_connection, 1000u);
    EXPECT_EQ(e.h2_max_concurrent_streams, 64u);
    EXPECT_EQ(e.h2_header_table_size, 8192u);
    EXPECT_EQ(e.h2_max_header_list, 32768u);
    EXPECT_EQ(e.h2_max_resets_per_second, 100u);
    EXPECT_EQ(e.h2_max_control_per_second, 50u);
    EXPECT_EQ(e.h2_max_continuations, 4u);
    EXPECT_EQ(e.access_log_dir, data + "/state/logs");

    EXPECT_EQ(c.tls.default_host, "example.com");
    EXPECT_EQ(c.tls.ticket_rotation, seconds(6 * 3600));
    EXPECT_EQ(c.tls.session_lifetime, seconds(12 * 3600));
    EXPECT_EQ(c.tls.internal_ca_dir, data + "/state/ca");

    // Sites and certificates come in file order.
    ASSERT_EQ(c.sites.size(), 3u);
    const auto& s = c.sites[0];
    EXPECT_EQ(s.host, "example.com");
    EXPECT_EQ(s.name, "Example");
    EXPECT_EQ(s.aliases, (std::vector<std::string>{"www.example.com", "example.net"}));
    EXPECT_EQ(s.http_policy, site::HttpPolicy::kRedirect);
    EXPECT_EQ(s.error_page, "errors/404.html");
    EXPECT_EQ(s.index, "index.htm");
    EXPECT_FALSE(s.precompressed);
    EXPECT_FALSE(s.compress);
    EXPECT_EQ(s.default_cache_control, "public, max-age=60");
    ASSERT_EQ(s.environments.size(), 3u);
    EXPECT_EQ(s.environments[0].name, "production");
    EXPECT_EQ(s.environments[0].host, "example.com");
    EXPECT_EQ(s.environments[0].root, data + "/www/example");
    EXPECT_EQ(s.environments[1].name, "testing");
    EXPECT_EQ(s.environments[1].host, "test.example.com");
    EXPECT_EQ(s.environments[1].root, data + "/www/example-test");
    EXPECT_EQ(s.environments[2].name, "preview");
    EXPECT_EQ(s.environments[2].host, "preview.example.org");

    const auto& h = s.headers;
    EXPECT_EQ(h.hsts_max_age, 31536000);
    EXPECT_TRUE(h.hsts_include_subdomains);
    EXPECT_TRUE(h.hsts_preload);
    EXPECT_EQ(h.csp, "default-src 'self'; frame-ancestors 'none'");
    EXPECT_EQ(h.x_content_type_options, "nosniff");
    EXPECT_EQ(h.x_frame_options, "SAMEORIGIN");
    EXPECT_EQ(h.referrer_policy, "no-referrer");
    EXPECT_EQ(h.permissions_policy, "camera=()");
    EXPECT_EQ(h.cross_origin_opener_policy, "same-origin-allow-popups");
    EXPECT_EQ(h.cross_origin_resource_policy, "cross-origin");
    using Pairs = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(h.add, (Pairs{{"X-Robots-Tag", "noindex"}, {"Cache-Status", "moat"}}));
    EXPECT_TRUE(h.remove.empty());

    ASSERT_EQ(s.cache_rules.size(), 3u);
    EXPECT_EQ(s.cache_rules[0].prefix, "/static/");
    EXPECT_EQ(s.cache_rules[0].cache_control, "public, max-age=31536000, immutable");
    EXPECT_EQ(s.cache_rules[1].glob, "/img/**.png");
    EXPECT_EQ(s.cache_rules[1].cache_control, "public, max-age=86400");
    EXPECT_EQ(s.cache_rules[2].extension, "css");
    EXPECT_EQ(s.cache_rules[2].cache_control, "public, max-age=600");

    const auto& blog = c.sites[1];
    EXPECT_EQ(blog.host, "blog.example.org");
    EXPECT_EQ(blog.name, "blog.example.org");
    EXPECT_EQ(blog.http_policy, site::HttpPolicy::kRefuse);
    ASSERT_EQ(blog.environments.size(), 1u);
    EXPECT_EQ(blog.environments[0].root, data + "/www/blog");

    const auto& old = c.sites[2];
    EXPECT_EQ(old.host, "old.example.org");
    EXPECT_EQ(old.redirect_to, "https://blog.example.org/");
    EXPECT_EQ(old.redirect_status, 308);
    EXPECT_TRUE(old.environments.empty());

    ASSERT_EQ(c.tls.certs.size(), 3u);
    EXPECT_EQ(c.tls.certs[0].names,
              (std::vector<std::string>{"example.com", "www.example.com", "example.net",
                                        "test.example.com", "preview.example.org"}));
    EXPECT_EQ(c.tls.certs[0].source, tls::CertSource::kAcme);
    EXPECT_EQ(c.tls.certs[1].names, (std::vector<std::string>{"blog.example.org"}));
    EXPECT_EQ(c.tls.certs[1].source, tls::CertSource::kFiles);
    EXPECT_EQ(c.tls.certs[1].cert_file, data + "/certs/blog.crt");
    EXPECT_EQ(c.tls.certs[1].key_file, data + "/certs/blog.key");
    EXPECT_EQ(c.tls.certs[2].names, (std::vector<std::string>{"old.example.org"}));
    EXPECT_EQ(c.tls.certs[2].source, tls::CertSource::kInternal);
}

TEST(LoadFile, AppliesDefaults) {
    auto r = load_file((kData / "defaults.toml").string());
    ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
    EXPECT_TRUE(r.diagnostics.empty());
    const Config& c = *r.config;
    const Config fresh;
    const edge::EdgeSettings e;
    const site::SiteSettings s;
    EXPECT_EQ(c.data_dir, kData.string() + "/moat-data");
    EXPECT_EQ(c.log_level, "info");
    EXPECT_EQ(c.edge.https_listen, (std::vector<std::string>{"0.0.0.0:443", "[::]:443"}));
    EXPECT_EQ(c.edge.http_listen, (std::vector<std::string>{"0.0.0.0:80", "[::]:80"}));
    EXPECT_EQ(c.edge.workers, e.workers);
    EXPECT_EQ(c.edge.metrics_listen, "127.0.0.1:9100");
    EXPECT_EQ(c.edge.node_id, "moat1");
    EXPECT_EQ(c.edge.handshake_timeout, milliseconds(10000));
    EXPECT_EQ(c.edge.idle_timeout, milliseconds(60000));
    EXPECT_EQ(c.edge.write_timeout, milliseconds(30000));
    EXPECT_EQ(c.edge.drain_timeout, milliseconds(10000));
    EXPECT_EQ(c.edge.max_header_bytes, 16384u);
    EXPECT_EQ(c.edge.max_target_bytes, 8192u);
    EXPECT_EQ(c.edge.h2_max_concurrent_streams, 128u);
    EXPECT_EQ(c.tls.default_host, "");
    EXPECT_EQ(c.tls.ticket_rotation, seconds(12 * 3600));
    EXPECT_EQ(c.tls.session_lifetime, seconds(24 * 3600));
    ASSERT_EQ(c.sites.size(), 1u);
    const auto& got = c.sites[0];
    EXPECT_EQ(got.name, "example.com");
    EXPECT_TRUE(got.aliases.empty());
    ASSERT_EQ(got.environments.size(), 1u);
    EXPECT_EQ(got.environments[0].name, "production");
    EXPECT_EQ(got.environments[0].host, "example.com");
    EXPECT_EQ(got.redirect_to, "");
    EXPECT_EQ(got.redirect_status, 301);
    EXPECT_EQ(got.http_policy, site::HttpPolicy::kRedirectHome);
    EXPECT_EQ(got.headers.hsts_max_age, s.headers.hsts_max_age);
    EXPECT_EQ(got.headers.csp, s.headers.csp);
    EXPECT_EQ(got.cache_rules.size(), s.cache_rules.size());
    EXPECT_EQ(got.default_cache_control, "public, max-age=3600");
    EXPECT_EQ(got.error_page, "404.html");
    EXPECT_EQ(got.index, "index.html");
    EXPECT_TRUE(got.precompressed);
    EXPECT_TRUE(got.compress);
    ASSERT_EQ(c.tls.certs.size(), 1u);
    EXPECT_EQ(c.tls.certs[0].names, (std::vector<std::string>{"example.com"}));
    EXPECT_EQ(c.tls.certs[0].source, tls::CertSource::kInternal);
    (void)fresh;
}

TEST(LoadFile, ReportsEveryErrorOfOneFileWithItsPosition) {
    auto r = load_file((kData / "errors.toml").string());
    EXPECT_FALSE(r.config);
    const std::string missing = (kData / "www/missing").string();
    const std::vector<std::string> want = {
        R"(errors.toml:2:13: log_level: must be one of "trace", "debug", "info", "warn", "error", "off", got "verbose")",
        R"(errors.toml:3:1: data_dri: unknown key (did you mean "data_dir"?))",
        R"(errors.toml:6:25: edge.https[1]: "[::]:70000": port must be a number from 1 to 65535)",
        R"(errors.toml:6:39: edge.https[2]: "::1:443": an IPv6 address needs brackets, like "[::]:443")",
        R"(errors.toml:7:11: edge.workers: expected an integer, got a string)",
        R"(errors.toml:8:16: edge.idle_timeout: invalid duration "10x": expected a whole number and a unit (ms, s, m, h, d), like "10s")",
        R"(errors.toml:9:20: edge.max_target_bytes: must not exceed max_header_bytes (16384), got 20000)",
        R"(errors.toml:13:26: edge.http2.max_concurrent_streams: must be from 1 to 1000, got 0)",
        R"(errors.toml:16:16: tls.default_host: "nowhere.example" is not the host, alias or environment host of any site)",
        R"(errors.toml:18:1: sites."example.com".cert: is required when tls = "files")",
        R"(errors.toml:18:1: sites."example.com".key: is required when tls = "files")",
        R"(errors.toml:19:8: sites."example.com".root: "www/missing" is not an existing directory (looked for )" +
            missing + ")",
        R"(errors.toml:20:31: sites."example.com".aliases[1]: "bad_host": host may contain only letters, digits, '-' and '.')",
        R"(errors.toml:21:19: sites."example.com".redirect_status: must be 301, 302, 307 or 308, got 303)",
        R"(errors.toml:25:16: sites."example.com".headers.hsts_preload: needs hsts_include_subdomains = true and hsts_max_age >= 31536000)",
        R"(errors.toml:26:9: sites."example.com".headers.add.Content-Length: Content-Length is set by the server and cannot be added)",
        R"(errors.toml:26:42: sites."example.com".headers.add.X-Ok: a header value must not contain CR, LF, NUL or other control characters)",
        R"(errors.toml:27:11: sites."example.com".headers.remove[0]: "Server" is not a default header)",
        R"(errors.toml:29:1: sites."example.com".cache[0]: needs exactly one of prefix, glob or extension)",
        R"(errors.toml:29:1: sites."example.com".cache[0].cache_control: is required)",
        R"(errors.toml:30:10: sites."example.com".cache[0].prefix: must start with '/')",
        R"(errors.toml:33:8: sites."www.example.com": host "www.example.com" is already used by sites."example.com".aliases[0] (line 20, column 12))",
        R"(errors.toml:36:1: sites."empty.example": a site needs root, environments or redirect_to)",
    };
    EXPECT_EQ(texts(r), want);
}

TEST(LoadFile, ReportsEveryWarningAndStillLoads) {
    auto r = load_file((kData / "warnings.toml").string());
    ASSERT_TRUE(r.config);
    const std::string csp =
        R"(warnings.toml:13:27: sites."example.com".headers.content_security_policy: )";
    const std::vector<std::string> want = {
        R"(warning: warnings.toml:3:11: edge.metrics: metrics listener is not on loopback: anyone who reaches it can read them; prefer 127.0.0.1 or [::1] behind a proxy)",
        R"(warning: warnings.toml:6:20: tls.session_lifetime: longer than 24h: testssl.sh flags session resumption lifetimes above one day)",
        R"(warning: warnings.toml:12:16: sites."example.com".headers.hsts_max_age: below 180 days (15552000): too short to protect returning visitors)",
        "warning: " + csp + "default-src allows scripts from any origin ('*')",
        "warning: " + csp + "'unsafe-inline' lets injected inline code run",
        "warning: " + csp + "'unsafe-eval' lets strings run as code",
        "warning: " + csp + "no frame-ancestors: the site can be framed (clickjacking)",
        R"(warning: warnings.toml:14:9: sites."example.com".headers.add.X-XSS-Protection: X-XSS-Protection is deprecated; browsers ignore it)",
        R"(warning: warnings.toml:15:11: sites."example.com".headers.remove[0]: removes the security header X-Frame-Options)",
        R"(warning: warnings.toml:21:16: sites."example.org".headers.hsts_max_age: 0 tells browsers to drop HSTS for this host)",
        R"(warning: warnings.toml:22:27: sites."example.org".headers.content_security_policy: empty: no Content-Security-Policy is sent)",
    };
    EXPECT_EQ(texts(r), want);
    EXPECT_TRUE(r.diagnostics[0].warning);
    EXPECT_EQ(r.config->sites[0].headers.remove, (std::vector<std::string>{"X-Frame-Options"}));
}

TEST(LoadFile, ReportsTheTomlSyntaxErrorPosition) {
    auto r = load_file((kData / "syntax.toml").string());
    EXPECT_FALSE(r.config);
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].line, 3);
    EXPECT_EQ(r.diagnostics[0].column, 20);
    EXPECT_EQ(texts(r)[0],
              "syntax.toml:3:20: Error while parsing string: unescaped control characters other "
              "than TAB (U+0009) are explicitly prohibited");
}

// toml++ 3.3 asserted on these in debug builds (marzer/tomlplusplus#301); found by the fuzzer.
TEST(LoadString, ReportsMalformedTableHeadersAsSyntaxErrors) {
    for (std::string_view text : {"[\n", "[[=\n", "[[[a]]]\n"}) {
        auto r = load(text);
        EXPECT_FALSE(r.config) << text;
        ASSERT_EQ(r.diagnostics.size(), 1u) << text;
        EXPECT_EQ(r.diagnostics[0].line, 1) << text;
    }
}

// toml++ 3.3 hits undefined behaviour on some of these; the loader refuses them first.
TEST(LoadString, RefusesNonAsciiOutsideStringsAndComments) {
    EXPECT_EQ(texts(load("# caf\xc3\xa9\nname\xd2\x91 = 1\n")),
              (std::vector<std::string>{"moat.toml:2:5: non-ASCII character outside a string or "
                                        "comment (use a quoted key)"}));
    auto ok = load(std::string(kSite) + "name = \"caf\xc3\xa9 \\\" \xc3\xa9\" # \xc3\xa9\n");
    ASSERT_TRUE(ok.config) << ::testing::PrintToString(texts(ok));
    EXPECT_EQ(ok.config->sites[0].name, "caf\xc3\xa9 \" \xc3\xa9");
}

TEST(LoadFile, ReportsAMissingFileWithoutPosition) {
    auto r = load_file((kData / "no-such.toml").string());
    EXPECT_FALSE(r.config);
    EXPECT_EQ(texts(r), (std::vector<std::string>{
                            "no-such.toml: cannot read the file: No such file or directory"}));
}

TEST(LoadString, RequiresASite) {
    EXPECT_EQ(texts(load("")),
              (std::vector<std::string>{"moat.toml:1:1: sites: no site is configured"}));
}

TEST(LoadString, NamesTheExpectedType) {
    std::string text = std::string(kSite) +
                       "precompressed = \"yes\"\n"
                       "aliases = \"www.example.com\"\n"
                       "[edge]\n"
                       "https = [443]\n"
                       "handshake_timeout = 10\n";
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:3:17: sites."example.com".precompressed: expected a boolean, got a string)",
            R"(moat.toml:4:11: sites."example.com".aliases: expected an array, got a string)",
            R"(moat.toml:6:10: edge.https[0]: expected a string, got an integer)",
            R"(moat.toml:7:21: edge.handshake_timeout: expected a duration string like "10s", got an integer)",
        }));
}

TEST(LoadString, RefusesUnknownKeysEverywhere) {
    std::string text = std::string(kSite) +
                       "colour = \"blue\"\n"
                       "[sites.\"example.com\".headers]\n"
                       "hsts_max_ag = 1\n"
                       "[edge.http2]\n"
                       "max_streams = 1\n"
                       "[logging]\n";
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:3:1: sites."example.com".colour: unknown key)",
            R"(moat.toml:5:1: sites."example.com".headers.hsts_max_ag: unknown key (did you mean "hsts_max_age"?))",
            R"(moat.toml:7:1: edge.http2.max_streams: unknown key)",
            R"(moat.toml:8:2: logging: unknown key)",
        }));
}

TEST(LoadString, RefusesAHostClaimedTwice) {
    std::string text = std::string(kSite) +
                       "[sites.\"example.com\".environments.testing]\n"
                       "root = \"www/example\"\n"
                       "[sites.\"example.org\"]\n"
                       "root = \"www/example\"\n"
                       "aliases = [\"Test.Example.com\"]\n";
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:7:12: sites."example.org".aliases[0]: host "test.example.com" is already used by sites."example.com".environments.testing (line 3, column 1))"}));
}

TEST(LoadString, DerivesEnvironmentHosts) {
    std::string text = std::string(kSite) +
                       "[sites.\"example.com\".environments.testing]\n"
                       "root = \"www/example\"\n"
                       "[sites.\"example.com\".environments.staging-2]\n"
                       "root = \"www/example\"\n";
    auto r = load(text);
    ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
    const auto& envs = r.config->sites[0].environments;
    ASSERT_EQ(envs.size(), 3u);
    EXPECT_EQ(envs[1].host, "test.example.com");
    EXPECT_EQ(envs[2].name, "staging-2");
    EXPECT_EQ(envs[2].host, "staging-2.example.com");
}

TEST(LoadString, ChecksEnvironments) {
    std::string text =
        "[sites.\"127.0.0.1\".environments.production]\n"
        "root = \"www/example\"\n"
        "[sites.\"127.0.0.1\".environments.testing]\n"
        "root = \"www/example\"\n"
        "[sites.\"127.0.0.1\".environments.Bad_Name]\n"
        "[sites.\"example.com\".environments.production]\n"
        "host = \"www.example.com\"\n"
        "[sites.\"example.org\".environments.testing]\n"
        "host = \"beta.example.org\"\n";
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:3:1: sites."127.0.0.1".environments.testing: set host: the default "test.127.0.0.1" is not a valid host)",
            R"(moat.toml:5:33: sites."127.0.0.1".environments.Bad_Name: environment names are 1-63 characters of a-z, 0-9 and '-')",
            R"(moat.toml:6:1: sites."example.com".environments.production.root: is required)",
            R"(moat.toml:7:8: sites."example.com".environments.production.host: the production host is the site's host "example.com"; use aliases for other names)",
            R"(moat.toml:8:1: sites."example.org".environments.testing.root: is required)",
            R"(moat.toml:8:1: sites."example.org": no production environment: set root or environments.production)",
        }));
}

TEST(LoadString, ChecksRedirectOnlySites) {
    std::string text =
        "[sites.\"a.example\"]\n"
        "redirect_to = \"https://b.example/\"\n"
        "root = \"www/example\"\n"
        "[sites.\"c.example\"]\n"
        "redirect_to = \"ftp://b.example/\"\n"
        "[sites.\"d.example\"]\n"
        "redirect_to = \"https://b.example/a b\"\n"
        "redirect_status = 302\n";
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:2:15: sites."a.example".redirect_to: a redirect-only site has no root or environments)",
            R"(moat.toml:5:15: sites."c.example".redirect_to: "ftp://b.example/" is not an http:// or https:// URL)",
            R"(moat.toml:7:15: sites."d.example".redirect_to: "https://b.example/a b" is not an http:// or https:// URL)",
        }));
}

TEST(LoadString, ChecksTlsSources) {
    std::string text = std::string(kSite) +
                       "cert = \"certs/blog.crt\"\n"
                       "[sites.\"example.org\"]\n"
                       "root = \"www/example\"\n"
                       "tls = \"files\"\n"
                       "cert = \"certs/none.crt\"\n"
                       "key = \"certs/blog.key\"\n"
                       "[sites.\"Bad..Host\"]\n"
                       "root = \"www/example\"\n"
                       "tls = \"self-signed\"\n";
    const std::string none = (kData / "certs/none.crt").string();
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:3:8: sites."example.com".cert: is only used with tls = "files")",
            R"(moat.toml:7:8: sites."example.org".cert: "certs/none.crt" is not an existing file (looked for )" +
                none + ")",
            R"(moat.toml:9:8: sites."Bad..Host": invalid host: host has an empty label)",
            R"(moat.toml:11:7: sites."Bad..Host".tls: must be one of "internal", "files", "acme", got "self-signed")",
        }));
}

TEST(LoadString, ChecksHeaderAdditions) {
    std::string text =
        std::string(kSite) +
        "[sites.\"example.com\".headers]\n"
        "add = { \"Bad Name\" = \"x\", \"strict-transport-security\" = \"max-age=1\", "
        "\"X-A\" = \"1\", \"x-a\" = \"2\", \"ETag\" = \"x\", \"X-N\" = 1 }\n";
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:4:9: sites."example.com".headers.add."Bad Name": not a valid header name (RFC 9110 token))",
            R"(moat.toml:4:27: sites."example.com".headers.add.strict-transport-security: set it with headers.hsts_max_age instead)",
            R"(moat.toml:4:83: sites."example.com".headers.add.x-a: added twice (header names are case-insensitive))",
            R"(moat.toml:4:96: sites."example.com".headers.add.ETag: ETag is set by the server and cannot be added)",
            R"(moat.toml:4:118: sites."example.com".headers.add.X-N: expected a string, got an integer)",
        }));
}

TEST(LoadString, EmptyCacheListRemovesTheDefaultRules) {
    auto r = load(std::string(kSite) + "cache = []\n");
    ASSERT_TRUE(r.config);
    EXPECT_TRUE(r.config->sites[0].cache_rules.empty());
}

TEST(LoadString, ChecksCacheRules) {
    std::string text = std::string(kSite) +
                       "[[sites.\"example.com\".cache]]\n"
                       "extension = \".jpg\"\n"
                       "cache_control = \"x\"\n"
                       "[[sites.\"example.com\".cache]]\n"
                       "glob = \"*.png\"\n"
                       "cache_control = \"x\"\n"
                       "[[sites.\"example.com\".cache]]\n"
                       "cache_control = \"x\"\n"
                       "maxage = 1\n";
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:4:13: sites."example.com".cache[0].extension: must be a file extension without the dot, like "jpg")",
            R"(moat.toml:7:8: sites."example.com".cache[1].glob: must start with '/')",
            R"(moat.toml:9:1: sites."example.com".cache[2]: needs exactly one of prefix, glob or extension)",
            R"(moat.toml:11:1: sites."example.com".cache[2].maxage: unknown key)",
        }));
}

TEST(LoadString, ChecksListenerDuplicatesAndLimits) {
    std::string text = std::string(kSite) +
                       "[edge]\n"
                       "https = [\"0.0.0.0:8443\"]\n"
                       "http = [\"0.0.0.0:8443\"]\n"
                       "metrics = \"\"\n"
                       "max_header_bytes = 100\n"
                       "max_requests_per_connection = -1\n";
    EXPECT_EQ(
        texts(load(text)),
        (std::vector<std::string>{
            R"(moat.toml:5:9: edge.http[0]: "0.0.0.0:8443" is already listed at edge.https[0])",
            R"(moat.toml:7:20: edge.max_header_bytes: must be from 1024 to 1048576, got 100)",
            R"(moat.toml:8:31: edge.max_requests_per_connection: must be at least 0, got -1)",
        }));
}

TEST(LoadString, AllowsEmptyListenerListsAndNoMetrics) {
    auto r = load(std::string(kSite) + "[edge]\nhttp = []\nmetrics = \"\"\n");
    ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
    EXPECT_TRUE(r.config->edge.http_listen.empty());
    EXPECT_EQ(r.config->edge.metrics_listen, "");
}

TEST(LoadString, ResolvesPathsAgainstTheFileDirectory) {
    auto r = load(std::string("data_dir = \"/var/lib/moat\"\n") + std::string(kSite));
    ASSERT_TRUE(r.config);
    EXPECT_EQ(r.config->data_dir, "/var/lib/moat");
    EXPECT_EQ(r.config->tls.internal_ca_dir, "/var/lib/moat/ca");
    EXPECT_EQ(r.config->edge.access_log_dir, "/var/lib/moat/logs");
    EXPECT_EQ(r.config->sites[0].environments[0].root, (kData / "www/example").string());
}

TEST(LoadString, ResolvesDotDataDirToTheFileDirectoryWithoutTrailingSlash) {
    auto r = load(std::string("data_dir = \".\"\n") + std::string(kSite));
    ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
    EXPECT_EQ(r.config->data_dir, kData.string());
    EXPECT_EQ(r.config->tls.internal_ca_dir, kData.string() + "/ca");
    EXPECT_EQ(r.config->edge.access_log_dir, kData.string() + "/logs");
}

TEST(LoadString, AcceptsAnAliasOrEnvironmentHostAsDefaultHost) {
    auto r = load(std::string("[tls]\ndefault_host = \"WWW.example.com\"\n") + std::string(kSite) +
                  "aliases = [\"www.example.com\"]\n");
    ASSERT_TRUE(r.config) << ::testing::PrintToString(texts(r));
    EXPECT_EQ(r.config->tls.default_host, "www.example.com");
}

TEST(Diagnostic, FormatsWithAndWithoutPosition) {
    Diagnostic d{false, "moat.toml", 3, 7, "edge.workers", "bad"};
    EXPECT_EQ(d.to_string(), "moat.toml:3:7: edge.workers: bad");
    d.warning = true;
    EXPECT_EQ(d.to_string(), "warning: moat.toml:3:7: edge.workers: bad");
    Diagnostic e{false, "moat.toml", 0, 0, "", "cannot read"};
    EXPECT_EQ(e.to_string(), "moat.toml: cannot read");
}

TEST(LoadString, InternalSiteKeyTypeAddsAnRsaLeaf) {
    auto both = load(std::string(kSite) + "key_type = [\"ecdsa-p256\", \"rsa2048\"]\n");
    ASSERT_TRUE(both.config) << texts(both).front();
    EXPECT_TRUE(both.config->tls.certs.at(0).internal_rsa);
    auto one = load(std::string(kSite) + "key_type = \"ecdsa-p256\"\n");
    ASSERT_TRUE(one.config);
    EXPECT_FALSE(one.config->tls.certs.at(0).internal_rsa);
    auto bad = load(std::string(kSite) + "key_type = \"rsa4096\"\n");
    EXPECT_FALSE(bad.config);
    auto acme = load(std::string(kSite) + "tls = \"acme\"\nkey_type = \"rsa2048\"\n");
    ASSERT_FALSE(acme.config);
    EXPECT_NE(texts(acme).front().find("is only used with tls = \"internal\""), std::string::npos)
        << texts(acme).front();
}

}  // namespace
}  // namespace moat::config

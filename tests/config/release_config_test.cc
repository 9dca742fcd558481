// Config keys of store-served sites: `store = true` (site and environment), approvals, and
// the [release] and [admin] sections with their defaults and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/values.h"

namespace moat::config {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

const fs::path kData = fs::path(__FILE__).parent_path().parent_path() / "data" / "config";

std::vector<std::string> texts(const LoadResult& r) {
    std::vector<std::string> out;
    for (auto d : r.diagnostics) {
        d.file = fs::path(d.file).filename().string();
        out.push_back(d.to_string());
    }
    return out;
}

LoadResult load(std::string_view text) { return load_string(text, (kData / "moat.toml").string()); }

// A copy: callers bind it to a reference, which extends the copy's life, not the result's.
Config ok(const LoadResult& r) {
    EXPECT_TRUE(r.config) << ::testing::PrintToString(texts(r));
    return r.config ? *r.config : Config{};
}

constexpr std::string_view kStoreSite = "[sites.\"example.com\"]\nstore = true\n";

TEST(StoreSites, SiteLevelStoreServesProductionAndTestingFromTheStore) {
    auto r = load(kStoreSite);
    const Config& c = ok(r);
    EXPECT_TRUE(r.diagnostics.empty()) << ::testing::PrintToString(texts(r));
    ASSERT_EQ(c.sites.size(), 1u);
    const auto& envs = c.sites[0].environments;
    ASSERT_EQ(envs.size(), 2u);
    EXPECT_EQ(envs[0].name, "production");
    EXPECT_EQ(envs[0].host, "example.com");
    EXPECT_TRUE(envs[0].from_store);
    EXPECT_EQ(envs[0].root, "");
    EXPECT_EQ(envs[1].name, "testing");
    EXPECT_EQ(envs[1].host, "test.example.com");
    EXPECT_TRUE(envs[1].from_store);
    EXPECT_EQ(c.sites[0].approvals, 1);
    // The testing host is on the site's certificate.
    ASSERT_EQ(c.tls.certs.size(), 1u);
    EXPECT_EQ(c.tls.certs[0].names, (std::vector<std::string>{"example.com", "test.example.com"}));

    // The store, releases and the admin API come with it, without sections of their own.
    const std::string data = (kData / "moat-data").string();
    EXPECT_TRUE(c.store.enabled);
    EXPECT_EQ(c.store.dir, data + "/store");
    EXPECT_TRUE(c.release.enabled);
    EXPECT_EQ(c.release.db_path, data + "/store/releases.db");
    EXPECT_EQ(c.release.cache_dir, data + "/cache");
    EXPECT_TRUE(c.admin.enabled);
    EXPECT_EQ(c.admin.db_path, data + "/store/admin.db");
    EXPECT_EQ(c.admin.audit_db_path, data + "/store/audit.db");
    EXPECT_EQ(c.admin.key_file, data + "/store/admin.key");
}

TEST(StoreSites, EnvironmentsChooseRootOrStore) {
    auto r = load(
        "[sites.\"example.com\".environments.production]\n"
        "root = \"www/example\"\n"
        "[sites.\"example.com\".environments.testing]\n"
        "store = true\n"
        "[sites.\"example.org\"]\n"
        "store = true\n"
        "approvals = 0\n"
        "[sites.\"example.org\".environments.testing]\n"
        "host = \"beta.example.org\"\n"
        "[sites.\"example.org\".environments.staging]\n");
    const Config& c = ok(r);
    ASSERT_EQ(c.sites.size(), 2u);
    const auto& a = c.sites[0].environments;
    ASSERT_EQ(a.size(), 2u);
    EXPECT_FALSE(a[0].from_store);
    EXPECT_EQ(a[0].root, (kData / "www/example").string());
    EXPECT_TRUE(a[1].from_store);
    EXPECT_EQ(a[1].root, "");

    const auto& b = c.sites[1].environments;
    ASSERT_EQ(b.size(), 3u);  // production added by store = true, in front
    EXPECT_EQ(b[0].name, "production");
    EXPECT_TRUE(b[0].from_store);
    EXPECT_EQ(b[1].name, "testing");
    EXPECT_EQ(b[1].host, "beta.example.org");
    EXPECT_TRUE(b[1].from_store);
    EXPECT_EQ(b[2].name, "staging");
    EXPECT_EQ(b[2].host, "staging.example.org");
    EXPECT_TRUE(b[2].from_store);
    EXPECT_EQ(c.sites[1].approvals, 0);
    EXPECT_TRUE(c.store.enabled);
    EXPECT_TRUE(c.release.enabled);
}

TEST(StoreSites, FolderSitesLeaveTheStoreOff) {
    const Config& c = ok(load("[sites.\"example.com\"]\nroot = \"www/example\"\n"));
    EXPECT_FALSE(c.sites[0].environments[0].from_store);
    EXPECT_FALSE(c.store.enabled);
    EXPECT_FALSE(c.release.enabled);
    EXPECT_FALSE(c.admin.enabled);

    // A [store] section alone turns the admin API on, but not releases.
    const Config& s = ok(load("[sites.\"example.com\"]\nroot = \"www/example\"\n[store]\n"));
    EXPECT_TRUE(s.store.enabled);
    EXPECT_FALSE(s.release.enabled);
    EXPECT_TRUE(s.admin.enabled);
}

TEST(StoreSites, ReportsContradictions) {
    auto r = load(
        "[sites.\"example.com\"]\n"
        "root = \"www/example\"\n"
        "store = true\n"
        "approvals = 6\n"
        "[sites.\"example.org\".environments.production]\n"
        "root = \"www/example\"\n"
        "store = true\n"
        "[sites.\"example.net\"]\n"
        "redirect_to = \"https://example.org/\"\n"
        "store = true\n"
        "[sites.\"10.0.0.1\"]\n"
        "store = true\n"
        "[sites.\"example.info\".environments.production]\n"
        "store = \"yes\"\n"
        "[store]\n"
        "enabled = false\n");
    EXPECT_FALSE(r.config);
    EXPECT_EQ(
        texts(r),
        (std::vector<std::string>{
            R"(moat.toml:3:9: sites."example.com".store: set either root or store = true)",
            R"(moat.toml:4:13: sites."example.com".approvals: must be from 0 to 5, got 6)",
            R"(moat.toml:7:9: sites."example.org".environments.production.store: set either root or store = true)",
            R"(moat.toml:9:15: sites."example.net".redirect_to: a redirect-only site is not served from the store)",
            R"(moat.toml:12:9: sites."10.0.0.1".store: the testing host "test.10.0.0.1" is not a valid host: set environments.testing.host)",
            R"(moat.toml:13:1: sites."example.info".environments.production.root: is required)",
            R"(moat.toml:14:9: sites."example.info".environments.production.store: expected a boolean, got a string)",
            R"(moat.toml:16:11: store.enabled: a site is served from the store (store = true): the store must be enabled)",
        }));
}

TEST(StoreSites, NameIsAContentBucketFolder) {
    auto r = load("[sites.\"example.com\"]\nname = \"My Site\"\nstore = true\n");
    EXPECT_FALSE(r.config);
    ASSERT_EQ(r.diagnostics.size(), 1u) << ::testing::PrintToString(texts(r));
    EXPECT_NE(r.diagnostics[0].to_string().find("letters, digits"), std::string::npos);
    // A folder site may keep any display name.
    auto f = load("[sites.\"example.com\"]\nname = \"My Site\"\nroot = \"www/example\"\n");
    EXPECT_TRUE(f.config) << ::testing::PrintToString(texts(f));
}

TEST(ReleaseSection, DefaultsAndEveryKey) {
    const Config& d = ok(load(kStoreSite));
    const release::ReleaseSettings defaults;
    EXPECT_EQ(d.release.keep, 10);
    EXPECT_EQ(d.release.settle, milliseconds(400));
    EXPECT_EQ(d.release.settle_max, milliseconds(1500));
    EXPECT_EQ(d.release.memory_budget, defaults.memory_budget);
    EXPECT_EQ(d.release.max_memory_file, defaults.max_memory_file);

    auto r = load(std::string(kStoreSite) +
                  "[release]\n"
                  "keep = 3\n"
                  "settle = \"1s\"\n"
                  "settle_max = \"5s\"\n"
                  "memory_budget = \"64MiB\"\n"
                  "max_memory_file = 65536\n"
                  "min_compress_size = \"1KiB\"\n"
                  "max_compress_file = \"8MiB\"\n"
                  "brotli_level = 5\n"
                  "zstd_level = 3\n"
                  "gzip_level = 6\n"
                  "compress_threads = 4\n");
    const Config& c = ok(r);
    EXPECT_TRUE(r.diagnostics.empty()) << ::testing::PrintToString(texts(r));
    EXPECT_EQ(c.release.keep, 3);
    EXPECT_EQ(c.release.settle, milliseconds(1000));
    EXPECT_EQ(c.release.settle_max, milliseconds(5000));
    EXPECT_EQ(c.release.memory_budget, 64ull << 20);
    EXPECT_EQ(c.release.max_memory_file, 65536u);
    EXPECT_EQ(c.release.min_compress_size, 1024u);
    EXPECT_EQ(c.release.max_compress_file, 8ull << 20);
    EXPECT_EQ(c.release.brotli_level, 5);
    EXPECT_EQ(c.release.zstd_level, 3);
    EXPECT_EQ(c.release.gzip_level, 6);
    EXPECT_EQ(c.release.compress_threads, 4);
}

TEST(ReleaseSection, ReportsBadValues) {
    auto r = load(std::string(kStoreSite) +
                  "[release]\n"                 // line 3
                  "keep = 0\n"                  // 4
                  "settle = \"2s\"\n"           // 5
                  "settle_max = \"1s\"\n"       // 6
                  "memory_budget = \"1MiB\"\n"  // 7
                  "max_memory_file = \"2MiB\"\n"
                  "min_compress_size = \"12MB\"\n"
                  "brotli_level = 12\n"
                  "colour = 1\n");
    EXPECT_EQ(
        texts(r),
        (std::vector<std::string>{
            R"(moat.toml:4:8: release.keep: must be from 1 to 1000, got 0)",
            R"(moat.toml:6:14: release.settle_max: settle_max (1000ms) must not be shorter than settle (2000ms))",
            R"(moat.toml:8:19: release.max_memory_file: max_memory_file (2097152) must not exceed memory_budget (1048576))",
            R"(moat.toml:9:21: release.min_compress_size: invalid size "12MB": expected a whole number and an optional unit (B, KiB, MiB, GiB, TiB), like "64MiB")",
            R"(moat.toml:10:16: release.brotli_level: must be from 0 to 11, got 12)",
            R"(moat.toml:11:1: release.colour: unknown key)",
        }));
}

TEST(AdminSection, DefaultsAndEveryKey) {
    const Config& d = ok(load(kStoreSite));
    EXPECT_EQ(d.admin.listen, (std::vector<std::string>{"127.0.0.1:9001"}));
    EXPECT_EQ(d.admin.hosts, (std::vector<std::string>{"localhost"}));
    EXPECT_EQ(d.admin.max_connections, 32);
    EXPECT_EQ(d.admin.max_failures, 5);
    EXPECT_EQ(d.admin.failure_window, seconds(300));
    EXPECT_EQ(d.admin.lockout, seconds(300));

    auto r = load(std::string(kStoreSite) +
                  "[admin]\n"
                  "listen = [\"127.0.0.1:9443\", \"[::1]:9443\"]\n"
                  "hosts = [\"Admin.Example.com\"]\n"
                  "max_connections = 8\n"
                  "max_failures = 3\n"
                  "failure_window = \"10m\"\n"
                  "lockout = \"1h\"\n"
                  "totp_issuer = \"moat example\"\n");
    const Config& c = ok(r);
    EXPECT_TRUE(c.admin.enabled);
    EXPECT_EQ(c.admin.listen, (std::vector<std::string>{"127.0.0.1:9443", "[::1]:9443"}));
    EXPECT_EQ(c.admin.hosts, (std::vector<std::string>{"admin.example.com"}));
    EXPECT_EQ(c.admin.max_connections, 8);
    EXPECT_EQ(c.admin.max_failures, 3);
    EXPECT_EQ(c.admin.failure_window, seconds(600));
    EXPECT_EQ(c.admin.lockout, seconds(3600));
    EXPECT_EQ(c.admin.totp_issuer, "moat example");

    const Config& off = ok(load(std::string(kStoreSite) + "[admin]\nenabled = false\n"));
    EXPECT_FALSE(off.admin.enabled);
    EXPECT_TRUE(off.store.enabled);
}

TEST(AdminSection, ReportsBadValues) {
    auto r = load(
        "[sites.\"example.com\"]\n"
        "root = \"www/example\"\n"
        "[admin]\n"
        "enabled = true\n"
        "listen = [\"localhost:9001\"]\n"
        "max_failures = 0\n"
        "lockout = \"1500ms\"\n"
        "totp_issuer = \"a:b\"\n");
    EXPECT_EQ(
        texts(r),
        (std::vector<std::string>{
            R"(moat.toml:4:11: admin.enabled: the admin API needs the store: enable [store] first)",
            R"(moat.toml:5:11: admin.listen[0]: "localhost:9001": not an IPv4 address (names are not allowed))",
            R"(moat.toml:6:16: admin.max_failures: must be from 1 to 1000, got 0)",
            R"(moat.toml:7:11: admin.lockout: must be a whole number of seconds)",
            R"(moat.toml:8:15: admin.totp_issuer: must be 1-64 characters without ':' or control characters)",
        }));

    auto clash = load(std::string(kStoreSite) +
                      "[s3]\nlisten = [\"127.0.0.1:9001\"]\n"
                      "[admin]\nlisten = [\"127.0.0.1:9001\"]\n");
    EXPECT_EQ(texts(clash),
              (std::vector<std::string>{
                  R"(moat.toml:6:10: admin.listen: "127.0.0.1:9001" is already used by s3.listen)",
              }));
}

TEST(ParseSize, AcceptsBinaryUnitsOnly) {
    EXPECT_EQ(parse_size("0").value_or(1), 0u);
    EXPECT_EQ(parse_size("512").value_or(0), 512u);
    EXPECT_EQ(parse_size("512B").value_or(0), 512u);
    EXPECT_EQ(parse_size("64KiB").value_or(0), 64u << 10);
    EXPECT_EQ(parse_size("256MiB").value_or(0), 256ull << 20);
    EXPECT_EQ(parse_size("2GiB").value_or(0), 2ull << 30);
    EXPECT_EQ(parse_size("1024TiB").value_or(0), 1ull << 50);
    for (std::string_view bad :
         {"", "MiB", "1 MiB", "1MB", "1mib", "-1", "1.5MiB", "1025TiB", "99999999999999999999"})
        EXPECT_FALSE(parse_size(bad)) << bad;
}

}  // namespace
}  // namespace moat::config

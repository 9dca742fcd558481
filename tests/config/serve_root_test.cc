#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.h"

namespace moat::config {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(__FILE__).parent_path().parent_path() / "data" / "config";

TEST(ConfigForRoot, ServesOneLocalhostSiteOverHttpsOnly) {
    auto got = config_for_root((kData / "www/example").string(), {"127.0.0.1:8443"}, "", "");
    ASSERT_TRUE(got) << got.error().detail;
    const Config& c = **got;
    EXPECT_EQ(c.edge.https_listen, (std::vector<std::string>{"127.0.0.1:8443"}));
    EXPECT_TRUE(c.edge.http_listen.empty());
    EXPECT_TRUE(c.edge.metrics_listen.empty());
    ASSERT_EQ(c.sites.size(), 1u);
    EXPECT_EQ(c.sites[0].host, "localhost");
    ASSERT_EQ(c.sites[0].environments.size(), 1u);
    EXPECT_EQ(c.sites[0].environments[0].name, "production");
    EXPECT_EQ(c.sites[0].environments[0].root, (kData / "www/example").string());
    EXPECT_EQ(c.tls.default_host, "localhost");
    ASSERT_EQ(c.tls.certs.size(), 1u);
    EXPECT_EQ(c.tls.certs[0].names, (std::vector<std::string>{"localhost"}));
    EXPECT_EQ(c.tls.certs[0].source, tls::CertSource::kInternal);
    EXPECT_EQ(c.tls.internal_ca_dir, c.data_dir + "/ca");
    EXPECT_EQ(c.edge.access_log_dir, c.data_dir + "/logs");
    EXPECT_TRUE(fs::path(c.data_dir).is_absolute());
}

TEST(ConfigForRoot, KeepsDefaultHttpsListenersWhenNoneGiven) {
    auto got = config_for_root((kData / "www/example").string(), {}, "", "");
    ASSERT_TRUE(got);
    EXPECT_EQ((*got)->edge.https_listen, (std::vector<std::string>{"0.0.0.0:443", "[::]:443"}));
}

TEST(ConfigForRoot, UsesCertificateFiles) {
    auto got =
        config_for_root((kData / "www/example").string(), {}, (kData / "certs/blog.crt").string(),
                        (kData / "certs/blog.key").string());
    ASSERT_TRUE(got) << got.error().detail;
    const auto& cert = (*got)->tls.certs[0];
    EXPECT_EQ(cert.source, tls::CertSource::kFiles);
    EXPECT_EQ(cert.cert_file, (kData / "certs/blog.crt").string());
    EXPECT_EQ(cert.key_file, (kData / "certs/blog.key").string());
}

TEST(ConfigForRoot, RefusesBadArguments) {
    const std::string root = (kData / "www/example").string();
    auto no_dir = config_for_root((kData / "www/missing").string(), {}, "", "");
    ASSERT_FALSE(no_dir);
    EXPECT_EQ(no_dir.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(no_dir.error().detail,
              "--root " + (kData / "www/missing").string() + ": not an existing directory");

    auto bad_listen = config_for_root(root, {"localhost:8443"}, "", "");
    ASSERT_FALSE(bad_listen);
    EXPECT_EQ(bad_listen.error().detail,
              "--listen localhost:8443: not an IPv4 address (names are not allowed)");

    auto half = config_for_root(root, {}, (kData / "certs/blog.crt").string(), "");
    ASSERT_FALSE(half);
    EXPECT_EQ(half.error().detail, "--cert and --key must be given together");

    auto missing = config_for_root(root, {}, (kData / "certs/none.crt").string(),
                                   (kData / "certs/blog.key").string());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().detail,
              (kData / "certs/none.crt").string() + ": not an existing file");
}

}  // namespace
}  // namespace moat::config

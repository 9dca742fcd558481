#include "tls/build_cert_table.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tls_test_util.h"

namespace moat::tls {
namespace {

class BuildCertTableTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto ca = InternalCa::open_or_create(dir_.file("ca"));
        ASSERT_TRUE(ca) << ca.error().detail;
        ca_ = std::make_unique<InternalCa>(std::move(*ca));
        // A "public" certificate on disk for files.test and *.files.test.
        auto leaf = ca_->issue({"files.test", "*.files.test"});
        ASSERT_TRUE(leaf);
        std::ofstream(dir_.file("f.crt")) << testing::pem_of((*leaf)->leaf());
        std::ofstream(dir_.file("f.key")) << testing::pem_of((*leaf)->key());
    }
    CertSpec files(std::vector<std::string> names) {
        CertSpec s;
        s.names = std::move(names);
        s.source = CertSource::kFiles;
        s.cert_file = dir_.file("f.crt");
        s.key_file = dir_.file("f.key");
        return s;
    }
    testing::TempDir dir_;
    std::unique_ptr<InternalCa> ca_;
};

TEST_F(BuildCertTableTest, BuildsInternalAndFileEntriesWithDefault) {
    TlsSettings s;
    s.certs.push_back({{"internal.test", "127.0.0.1"}, CertSource::kInternal, "", "", "", ""});
    s.certs.push_back(files({"files.test", "www.files.test"}));
    s.default_host = "internal.test";
    auto t = build_cert_table(s, ca_.get());
    ASSERT_TRUE(t) << t.error().detail;
    const CertKey* internal = (*t)->find("internal.test");
    ASSERT_NE(internal, nullptr);
    EXPECT_EQ((*t)->find("127.0.0.1"), internal);
    EXPECT_TRUE(internal->covers("127.0.0.1"));
    const CertKey* f = (*t)->find("www.files.test");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ((*t)->find("files.test"), f);
    EXPECT_EQ((*t)->find("other.files.test"), nullptr);  // only configured names are served
    EXPECT_EQ((*t)->default_cert(), internal);
}

TEST_F(BuildCertTableTest, InternalEntryWithRsaGetsAnRsaLeafBeside) {
    TlsSettings s;
    CertSpec spec{{"both.test", "www.both.test"}, CertSource::kInternal, "", "", "", ""};
    spec.internal_rsa = true;
    s.certs.push_back(spec);
    s.certs.push_back({{"ec.test"}, CertSource::kInternal, "", "", "", ""});
    auto t = build_cert_table(s, ca_.get());
    ASSERT_TRUE(t) << t.error().detail;
    const CertEntry* both = (*t)->find_entry("www.both.test");
    ASSERT_NE(both, nullptr);
    EXPECT_EQ(EVP_PKEY_get_id(both->cert->key()), EVP_PKEY_EC);
    ASSERT_NE(both->rsa, nullptr);
    EXPECT_EQ(EVP_PKEY_get_id(both->rsa->key()), EVP_PKEY_RSA);
    EXPECT_TRUE(both->rsa->covers("both.test"));
    EXPECT_EQ((*t)->find_entry("ec.test")->rsa, nullptr);  // only when asked for
}

TEST_F(BuildCertTableTest, FileCertMustCoverEveryName) {
    TlsSettings s;
    s.certs.push_back(files({"files.test", "shop.example"}));
    auto t = build_cert_table(s, ca_.get());
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, Errc::kInvalidArgument);
    EXPECT_NE(t.error().detail.find("shop.example"), std::string::npos) << t.error().detail;
}

TEST_F(BuildCertTableTest, ReportsUnsupportedAndMissingPieces) {
    // An ACME entry with no issued certificate yet is skipped, not an error: the ACME
    // manager orders it and swaps in a new table (also when it is the default host).
    TlsSettings acme;
    acme.certs.push_back(
        {{"acme.test"}, CertSource::kAcme, dir_.file("acme.crt"), dir_.file("acme.key"), "", ""});
    acme.default_host = "acme.test";
    auto a = build_cert_table(acme, ca_.get());
    ASSERT_TRUE(a) << a.error().detail;
    EXPECT_EQ((*a)->size(), 0u);

    TlsSettings internal;
    internal.certs.push_back({{"internal.test"}, CertSource::kInternal, "", "", "", ""});
    EXPECT_FALSE(build_cert_table(internal, nullptr));

    TlsSettings no_default;
    no_default.certs.push_back({{"internal.test"}, CertSource::kInternal, "", "", "", ""});
    no_default.default_host = "elsewhere.test";
    auto d = build_cert_table(no_default, ca_.get());
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().detail.find("elsewhere.test"), std::string::npos);

    TlsSettings dup;
    dup.certs.push_back({{"internal.test"}, CertSource::kInternal, "", "", "", ""});
    dup.certs.push_back({{"INTERNAL.test"}, CertSource::kInternal, "", "", "", ""});
    auto c = build_cert_table(dup, ca_.get());
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, Errc::kConflict);

    TlsSettings missing;
    CertSpec m = files({"files.test"});
    m.cert_file = dir_.file("absent.crt");
    missing.certs.push_back(m);
    auto f = build_cert_table(missing, ca_.get());
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace moat::tls

#include "tls/cert_table.h"

#include <gtest/gtest.h>

#include "tls/internal_ca.h"
#include "tls_test_util.h"

namespace moat::tls {
namespace {

class CertTableTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto ca = InternalCa::open_or_create(dir_.file("ca"));
        ASSERT_TRUE(ca) << ca.error().detail;
        auto a = ca->issue({"a.example.com"});
        auto w = ca->issue({"*.example.com"});
        auto ip = ca->issue({"127.0.0.1", "::1"});
        ASSERT_TRUE(a && w && ip);
        a_ = *a;
        wild_ = *w;
        ip_ = *ip;
    }
    testing::TempDir dir_;
    std::shared_ptr<const CertKey> a_, wild_, ip_;
};

TEST_F(CertTableTest, ExactBeatsWildcardAndWildcardCoversOneLabel) {
    CertTable t;
    ASSERT_TRUE(t.add("a.example.com", a_));
    ASSERT_TRUE(t.add("*.example.com", wild_));
    EXPECT_EQ(t.find("a.example.com"), a_.get());
    EXPECT_EQ(t.find("A.Example.COM."), a_.get());
    EXPECT_EQ(t.find("b.example.com"), wild_.get());
    EXPECT_EQ(t.find("example.com"), nullptr);      // RFC 6125 §6.4.3: one label only
    EXPECT_EQ(t.find("x.b.example.com"), nullptr);  // not two
    EXPECT_EQ(t.find("other.test"), nullptr);
    EXPECT_EQ(t.find(""), nullptr);
    EXPECT_EQ(t.size(), 2u);
}

TEST_F(CertTableTest, IpLiteralsMatchInCanonicalFormOnly) {
    CertTable t;
    ASSERT_TRUE(t.add("127.0.0.1", ip_));
    ASSERT_TRUE(t.add("0:0::1", ip_));
    ASSERT_TRUE(t.add("*.0.0.1", wild_));  // a (silly) DNS wildcard must not catch IPs
    EXPECT_EQ(t.find("127.0.0.1"), ip_.get());
    EXPECT_EQ(t.find("::1"), ip_.get());
    EXPECT_EQ(t.find("0000::0001"), ip_.get());
    EXPECT_EQ(t.find("127.0.0.2"), nullptr);
}

TEST_F(CertTableTest, RejectsBadNamesAndDuplicates) {
    CertTable t;
    for (const char* bad :
         {"*.com", "a..b", "*foo.example.com", "a.*.example.com", "-a.test", "a_b.test", "", "*"}) {
        auto r = t.add(bad, a_);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, Errc::kInvalidArgument) << bad;
    }
    ASSERT_TRUE(t.add("a.example.com", a_));
    auto dup = t.add("A.EXAMPLE.COM", wild_);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, Errc::kConflict);
    EXPECT_FALSE(t.add("b.example.com", nullptr));
}

TEST_F(CertTableTest, DefaultIsSeparateFromFind) {
    CertTable t;
    ASSERT_TRUE(t.add("a.example.com", a_));
    EXPECT_EQ(t.default_cert(), nullptr);
    auto missing = t.set_default("nothere.test");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::kNotFound);
    ASSERT_TRUE(t.set_default("A.example.com"));
    EXPECT_EQ(t.default_cert(), a_.get());
    EXPECT_EQ(t.default_name(), "a.example.com");
    EXPECT_EQ(t.find("unknown.test"), nullptr);
}

}  // namespace
}  // namespace moat::tls

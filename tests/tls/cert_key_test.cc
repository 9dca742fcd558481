#include "tls/cert_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tls/internal_ca.h"
#include "tls_test_util.h"

namespace moat::tls {
namespace {

using testing::TempDir;

void write(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
}

class CertKeyTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto ca = InternalCa::open_or_create(dir_.file("ca"));
        ASSERT_TRUE(ca) << ca.error().detail;
        ca_ = std::make_unique<InternalCa>(std::move(*ca));
    }
    testing::Pem issue_pem(const std::vector<std::string>& names) {
        auto ck = ca_->issue(names);
        EXPECT_TRUE(ck) << ck.error().detail;
        return {testing::pem_of((*ck)->leaf()), testing::pem_of((*ck)->key())};
    }
    TempDir dir_;
    std::unique_ptr<InternalCa> ca_;
};

TEST_F(CertKeyTest, LoadsChainAndNamesFromFiles) {
    auto leaf = issue_pem({"A.Test", "127.0.0.1", "*.wild.test"});
    std::string root = testing::pem_of(ca_->root()->leaf());
    write(dir_.file("chain.pem"), leaf.cert + root);
    write(dir_.file("key.pem"), leaf.key);
    auto ck = load_cert_key_files(dir_.file("chain.pem"), dir_.file("key.pem"));
    ASSERT_TRUE(ck) << ck.error().detail;
    EXPECT_EQ(sk_X509_num((*ck)->chain()), 1);
    EXPECT_EQ((*ck)->names(), (std::vector<std::string>{"*.wild.test", "127.0.0.1", "a.test"}));
    EXPECT_TRUE((*ck)->covers("a.test"));
    EXPECT_TRUE((*ck)->covers("A.TEST."));
    EXPECT_TRUE((*ck)->covers("x.wild.test"));
    EXPECT_TRUE((*ck)->covers("*.wild.test"));
    EXPECT_FALSE((*ck)->covers("wild.test"));
    EXPECT_FALSE((*ck)->covers("x.y.wild.test"));
    EXPECT_TRUE((*ck)->covers("127.0.0.1"));
    EXPECT_FALSE((*ck)->covers("127.0.0.2"));
    EXPECT_LT((*ck)->not_before(), (*ck)->not_after());
}

TEST_F(CertKeyTest, MissingFileNamesThePath) {
    auto leaf = issue_pem({"a.test"});
    write(dir_.file("key.pem"), leaf.key);
    auto ck = load_cert_key_files(dir_.file("nope.pem"), dir_.file("key.pem"));
    ASSERT_FALSE(ck);
    EXPECT_EQ(ck.error().code, Errc::kNotFound);
    EXPECT_NE(ck.error().detail.find("nope.pem"), std::string::npos) << ck.error().detail;

    write(dir_.file("cert.pem"), leaf.cert);
    ck = load_cert_key_files(dir_.file("cert.pem"), dir_.file("nokey.pem"));
    ASSERT_FALSE(ck);
    EXPECT_EQ(ck.error().code, Errc::kNotFound);
    EXPECT_NE(ck.error().detail.find("nokey.pem"), std::string::npos) << ck.error().detail;
}

TEST_F(CertKeyTest, MismatchedKeyIsRefusedWithoutLeakingIt) {
    auto a = issue_pem({"a.test"});
    auto b = issue_pem({"b.test"});
    write(dir_.file("a.crt"), a.cert);
    write(dir_.file("b.key"), b.key);
    auto ck = load_cert_key_files(dir_.file("a.crt"), dir_.file("b.key"));
    ASSERT_FALSE(ck);
    EXPECT_EQ(ck.error().code, Errc::kInvalidArgument);
    EXPECT_NE(ck.error().detail.find("does not match"), std::string::npos) << ck.error().detail;
    EXPECT_EQ(ck.error().detail.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(CertKeyTest, GarbageAndEncryptedInputsAreRefused) {
    auto a = issue_pem({"a.test"});
    EXPECT_FALSE(load_cert_key_pem("not a certificate", a.key));
    EXPECT_FALSE(load_cert_key_pem(a.cert, "not a key"));
    EXPECT_FALSE(load_cert_key_pem(a.cert, ""));

    // An encrypted key must fail, not prompt for a password on the terminal.
    auto parsed = load_cert_key_pem(a.cert, a.key);
    ASSERT_TRUE(parsed);
    BIO* b = BIO_new(BIO_s_mem());
    char pass[] = "secret";
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(b, (*parsed)->key(), EVP_aes_256_cbc(), pass, 6,
                                            nullptr, nullptr),
              1);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string encrypted(p, static_cast<std::size_t>(n));
    BIO_free(b);
    auto ck = load_cert_key_pem(a.cert, encrypted);
    ASSERT_FALSE(ck);
    EXPECT_NE(ck.error().detail.find("encrypted"), std::string::npos) << ck.error().detail;
}

TEST(CertKey, Rsa1024KeyIsRefusedBySecurityLevel2) {
    EVP_PKEY* key = EVP_RSA_gen(1024);
    ASSERT_NE(key, nullptr);
    auto pem = testing::self_signed(key, "DNS:weak.test");
    EVP_PKEY_free(key);
    auto ck = load_cert_key_pem(pem.cert, pem.key);
    ASSERT_FALSE(ck);
    EXPECT_EQ(ck.error().code, Errc::kInvalidArgument);
    EXPECT_NE(ck.error().detail.find("too weak"), std::string::npos) << ck.error().detail;
}

TEST(CertKey, Rsa2048KeyIsAccepted) {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    ASSERT_NE(key, nullptr);
    auto pem = testing::self_signed(key, "DNS:rsa.test");
    EVP_PKEY_free(key);
    auto ck = load_cert_key_pem(pem.cert, pem.key);
    ASSERT_TRUE(ck) << ck.error().detail;
    EXPECT_TRUE((*ck)->covers("rsa.test"));
}

}  // namespace
}  // namespace moat::tls

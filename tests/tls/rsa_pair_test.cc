// An ECDSA certificate with an RSA one beside it: CertTable entries, build_cert_table and the
// choice OpenSSL makes per client in the ServerContext's ClientHello callback.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include <fstream>

#include "tls/build_cert_table.h"
#include "tls/cert_table.h"
#include "tls/server_context.h"
#include "tls_test_util.h"

namespace moat::tls {
namespace {

using testing::ClientOptions;
using testing::Conn;

std::shared_ptr<const CertKey> make_cert(EVP_PKEY* key, const std::string& san) {
    auto pem = testing::self_signed(key, san);
    EVP_PKEY_free(key);
    auto ck = load_cert_key_pem(pem.cert, pem.key);
    EXPECT_TRUE(ck) << ck.error().detail;
    return ck ? *ck : nullptr;
}

int peer_key_type(Conn& c) {
    X509* peer = c.peer_cert();
    return peer == nullptr ? -1 : EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
}

// Key generation (RSA-2048 above all) is the slow part: one set for the whole suite.
class RsaPairTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        ec_ = new std::shared_ptr<const CertKey>(
            make_cert(EVP_EC_gen("P-256"), "DNS:pair.test,DNS:*.pair.test"));
        rsa_ = new std::shared_ptr<const CertKey>(
            make_cert(EVP_RSA_gen(2048), "DNS:pair.test,DNS:*.pair.test"));
        rsa_other_ = new std::shared_ptr<const CertKey>(make_cert(EVP_RSA_gen(2048), "DNS:x.test"));
    }
    static void TearDownTestSuite() {
        delete ec_;
        delete rsa_;
        delete rsa_other_;
    }

    void SetUp() override {
        auto sc = ServerContext::create(TlsSettings{});
        ASSERT_TRUE(sc) << sc.error().detail;
        server_ = *sc;
        auto t = std::make_shared<CertTable>();
        ASSERT_TRUE(t->add("pair.test", *ec_, *rsa_));
        ASSERT_TRUE(t->add("*.pair.test", *ec_, *rsa_));
        ASSERT_TRUE(t->add("ec-only.test", *ec_));
        ASSERT_TRUE(t->set_default("pair.test"));
        server_->set_certs(t);
    }

    static ClientOptions client(const std::string& sni) {
        ClientOptions o;
        o.sni = sni;
        return o;
    }

    static inline std::shared_ptr<const CertKey>* ec_ = nullptr;
    static inline std::shared_ptr<const CertKey>* rsa_ = nullptr;
    static inline std::shared_ptr<const CertKey>* rsa_other_ = nullptr;
    std::shared_ptr<ServerContext> server_;
};

TEST_F(RsaPairTest, DefaultClientGetsEcdsa) {
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        auto o = client("pair.test");
        o.min_version = o.max_version = version;
        Conn c(server_->native(), o);
        ASSERT_TRUE(c.handshake()) << version;
        EXPECT_EQ(peer_key_type(c), EVP_PKEY_EC) << version;
        if (version == TLS1_2_VERSION) {
            EXPECT_EQ(cipher_name(c.server()), "ECDHE-ECDSA-AES128-GCM-SHA256");
        }
    }
}

TEST_F(RsaPairTest, Tls13ClientWithOnlyRsaSignaturesGetsRsa) {
    for (const char* sigalgs : {"RSA-PSS+SHA256:RSA+SHA256", "rsa_pss_rsae_sha384"}) {
        auto o = client("www.pair.test");  // through the wildcard entry
        o.min_version = TLS1_3_VERSION;
        o.sigalgs = sigalgs;
        Conn c(server_->native(), o);
        ASSERT_TRUE(c.handshake()) << sigalgs;
        EXPECT_EQ(peer_key_type(c), EVP_PKEY_RSA) << sigalgs;
        EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(c.peer_cert())), 2048);
        EXPECT_EQ(protocol_name(c.server()), "TLSv1.3");
    }
}

TEST_F(RsaPairTest, Tls12ClientWithOnlyRsaSuitesGetsRsaWithEcdheAead) {
    for (const char* suite : {"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                              "ECDHE-RSA-CHACHA20-POLY1305"}) {
        auto o = client("pair.test");
        o.max_version = TLS1_2_VERSION;
        o.ciphers = suite;
        Conn c(server_->native(), o);
        ASSERT_TRUE(c.handshake()) << suite;
        EXPECT_EQ(peer_key_type(c), EVP_PKEY_RSA) << suite;
        EXPECT_EQ(cipher_name(c.server()), suite);
    }
    // Static RSA key exchange and CBC stay off even with an RSA certificate present.
    for (const char* weak :
         {"AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA256", "DHE-RSA-AES128-GCM-SHA256"}) {
        auto o = client("pair.test");
        o.max_version = TLS1_2_VERSION;
        o.ciphers = weak;
        o.security_level = 0;
        Conn c(server_->native(), o);
        EXPECT_FALSE(c.handshake()) << weak;
    }
}

TEST_F(RsaPairTest, Tls12ClientWithRsaOnlySignaturesGetsRsa) {
    auto o = client("pair.test");
    o.max_version = TLS1_2_VERSION;
    o.sigalgs = "RSA+SHA256:RSA-PSS+SHA256";
    Conn c(server_->native(), o);
    ASSERT_TRUE(c.handshake());
    EXPECT_EQ(peer_key_type(c), EVP_PKEY_RSA);
    EXPECT_EQ(cipher_name(c.server()), "ECDHE-RSA-AES128-GCM-SHA256");
}

TEST_F(RsaPairTest, WithoutAnRsaCertificateAnRsaOnlyClientIsRefused) {
    auto o = client("ec-only.test");
    o.min_version = TLS1_3_VERSION;
    o.sigalgs = "RSA-PSS+SHA256";
    Conn refused(server_->native(), o);
    EXPECT_FALSE(refused.handshake());
    // The same client on the paired name: the refusal above was the missing certificate.
    o.sni = "pair.test";
    Conn ok(server_->native(), o);
    EXPECT_TRUE(ok.handshake());
}

TEST_F(RsaPairTest, TheDefaultEntryKeepsItsRsaCertificate) {
    ClientOptions o;  // no SNI: the default (pair.test)
    o.min_version = TLS1_3_VERSION;
    o.sigalgs = "RSA-PSS+SHA256";
    Conn c(server_->native(), o);
    ASSERT_TRUE(c.handshake());
    EXPECT_EQ(peer_key_type(c), EVP_PKEY_RSA);
    EXPECT_EQ(server_name(c.server()), "pair.test");
}

TEST_F(RsaPairTest, ANewTableWithoutRsaTakesTheRsaCertificateAway) {
    auto t = std::make_shared<CertTable>();
    ASSERT_TRUE(t->add("pair.test", *ec_));
    server_->set_certs(t);
    auto o = client("pair.test");
    o.min_version = TLS1_3_VERSION;
    o.sigalgs = "RSA-PSS+SHA256";
    Conn c(server_->native(), o);
    EXPECT_FALSE(c.handshake());
}

TEST(CertTableRsa, TheExtraCertificateMustBeTheOnlyRsaOne) {
    auto ec = make_cert(EVP_EC_gen("P-256"), "DNS:a.test");
    auto ec2 = make_cert(EVP_EC_gen("P-256"), "DNS:a.test");
    auto rsa = make_cert(EVP_RSA_gen(2048), "DNS:a.test");
    CertTable t;
    auto not_rsa = t.add("a.test", ec, ec2);
    ASSERT_FALSE(not_rsa);
    EXPECT_EQ(not_rsa.error().code, Errc::kInvalidArgument);
    EXPECT_FALSE(t.add("a.test", rsa, rsa));  // both RSA: one would replace the other
    ASSERT_TRUE(t.add("a.test", ec, rsa));
    const CertEntry* e = t.find_entry("A.test.");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->cert, ec);
    EXPECT_EQ(e->rsa, rsa);
    EXPECT_EQ(t.find("a.test"), ec.get());
    EXPECT_EQ(t.default_entry(), nullptr);
    ASSERT_TRUE(t.set_default("a.test"));
    ASSERT_NE(t.default_entry(), nullptr);
    EXPECT_EQ(t.default_entry()->rsa, rsa);
}

class BuildRsaTableTest : public RsaPairTest {
protected:
    void write(const std::string& name, const CertKey& ck) {
        std::ofstream(dir_.file(name + ".crt")) << testing::pem_of(ck.leaf());
        std::ofstream(dir_.file(name + ".key")) << testing::pem_of(ck.key());
    }
    CertSpec spec(CertSource source, const std::string& rsa) {
        CertSpec s;
        s.names = {"pair.test", "www.pair.test"};
        s.source = source;
        s.cert_file = dir_.file("ec.crt");
        s.key_file = dir_.file("ec.key");
        s.rsa_cert_file = dir_.file(rsa + ".crt");
        s.rsa_key_file = dir_.file(rsa + ".key");
        return s;
    }
    testing::TempDir dir_;
};

TEST_F(BuildRsaTableTest, FilesEntryServesBothCertificates) {
    write("ec", **ec_);
    write("rsa", **rsa_);
    TlsSettings s;
    s.certs.push_back(spec(CertSource::kFiles, "rsa"));
    auto t = build_cert_table(s, nullptr);
    ASSERT_TRUE(t) << t.error().detail;
    for (const char* name : {"pair.test", "www.pair.test"}) {
        const CertEntry* e = (*t)->find_entry(name);
        ASSERT_NE(e, nullptr) << name;
        EXPECT_EQ(EVP_PKEY_get_base_id(e->cert->key()), EVP_PKEY_EC);
        ASSERT_NE(e->rsa, nullptr) << name;
        EXPECT_EQ(EVP_PKEY_get_base_id(e->rsa->key()), EVP_PKEY_RSA);
    }
}

TEST_F(BuildRsaTableTest, FilesEntryRsaMustLoadCoverAndBeRsa) {
    write("ec", **ec_);
    write("other", **rsa_other_);
    TlsSettings uncovered;
    uncovered.certs.push_back(spec(CertSource::kFiles, "other"));
    auto t = build_cert_table(uncovered, nullptr);
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().detail.find("does not cover pair.test"), std::string::npos)
        << t.error().detail;

    TlsSettings missing;
    missing.certs.push_back(spec(CertSource::kFiles, "nope"));
    EXPECT_FALSE(build_cert_table(missing, nullptr));

    TlsSettings ec_twice;
    ec_twice.certs.push_back(spec(CertSource::kFiles, "ec"));
    auto e = build_cert_table(ec_twice, nullptr);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().detail.find("not an RSA key"), std::string::npos) << e.error().detail;
}

TEST_F(BuildRsaTableTest, AcmeEntryServesEcdsaAloneUntilTheRsaOneIsWritten) {
    write("ec", **ec_);
    TlsSettings s;
    s.certs.push_back(spec(CertSource::kAcme, "rsa"));
    auto before = build_cert_table(s, nullptr);
    ASSERT_TRUE(before) << before.error().detail;
    ASSERT_NE((*before)->find_entry("pair.test"), nullptr);
    EXPECT_EQ((*before)->find_entry("pair.test")->rsa, nullptr);

    write("rsa", **rsa_);
    auto after = build_cert_table(s, nullptr);
    ASSERT_TRUE(after) << after.error().detail;
    ASSERT_NE((*after)->find_entry("www.pair.test"), nullptr);
    EXPECT_NE((*after)->find_entry("www.pair.test")->rsa, nullptr);
}

}  // namespace
}  // namespace moat::tls

#include "tls/server_context.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "tls/internal_ca.h"
#include "tls_test_util.h"

namespace moat::tls {
namespace {

using testing::ClientOptions;
using testing::Conn;

// One CA and a few leaves for the whole suite: key generation is the slow part.
class ServerContextTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new testing::TempDir;
        auto ca = InternalCa::open_or_create(dir_->file("ca"));
        ASSERT_TRUE(ca) << ca.error().detail;
        ca_ = new InternalCa(std::move(*ca));
        a_ = new std::shared_ptr<const CertKey>(*ca_->issue({"a.test"}));
        wild_ = new std::shared_ptr<const CertKey>(*ca_->issue({"*.wild.test"}));
        ip_ = new std::shared_ptr<const CertKey>(*ca_->issue({"127.0.0.1"}));
        dflt_ = new std::shared_ptr<const CertKey>(*ca_->issue({"default.test"}));
    }
    static void TearDownTestSuite() {
        delete a_;
        delete wild_;
        delete ip_;
        delete dflt_;
        delete ca_;
        delete dir_;
    }

    void SetUp() override {
        auto sc = ServerContext::create(TlsSettings{});
        ASSERT_TRUE(sc) << sc.error().detail;
        server_ = *sc;
        server_->set_certs(table(false));
    }

    static std::shared_ptr<const CertTable> table(bool with_default) {
        auto t = std::make_shared<CertTable>();
        EXPECT_TRUE(t->add("a.test", *a_));
        EXPECT_TRUE(t->add("*.wild.test", *wild_));
        EXPECT_TRUE(t->add("127.0.0.1", *ip_));
        EXPECT_TRUE(t->add("default.test", *dflt_));
        if (with_default) {
            EXPECT_TRUE(t->set_default("default.test"));
        }
        return t;
    }

    ClientOptions verified(const std::string& sni) {
        ClientOptions o;
        o.sni = sni;
        o.ca_file = ca_->root_cert_path();
        return o;
    }

    static inline testing::TempDir* dir_ = nullptr;
    static inline InternalCa* ca_ = nullptr;
    static inline std::shared_ptr<const CertKey>* a_ = nullptr;
    static inline std::shared_ptr<const CertKey>* wild_ = nullptr;
    static inline std::shared_ptr<const CertKey>* ip_ = nullptr;
    static inline std::shared_ptr<const CertKey>* dflt_ = nullptr;
    std::shared_ptr<ServerContext> server_;
};

TEST_F(ServerContextTest, Tls13HandshakeReportsProtocolAndServerPreferredSuite) {
    Conn c(server_->native(), verified("a.test"));
    ASSERT_TRUE(c.handshake());
    EXPECT_EQ(SSL_get_verify_result(c.client()), X509_V_OK);
    EXPECT_EQ(protocol_name(c.server()), "TLSv1.3");
    // The client (OpenSSL default) lists AES-256 first; the server's order wins.
    EXPECT_EQ(cipher_name(c.server()), "TLS_AES_128_GCM_SHA256");
    EXPECT_EQ(server_name(c.server()), "a.test");
    EXPECT_EQ(requested_server_name(c.server()), "a.test");
}

TEST_F(ServerContextTest, RefusesTls10AndTls11) {
    for (int version : {TLS1_VERSION, TLS1_1_VERSION}) {
        ClientOptions o;
        o.sni = "a.test";
        o.min_version = version;
        o.max_version = version;
        o.security_level = 0;  // let the client offer what its own defaults would refuse
        o.ciphers = "DEFAULT:@SECLEVEL=0";
        Conn c(server_->native(), o);
        EXPECT_FALSE(c.handshake()) << version;
        EXPECT_EQ(c.client_alert(), SSL_AD_PROTOCOL_VERSION) << version;
    }
}

TEST_F(ServerContextTest, Tls12OffersOnlyEcdheAeadSuites) {
    STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(server_->native());
    int tls12 = 0;
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
        EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << SSL_CIPHER_get_name(c);
        if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any) continue;  // TLS 1.3 suites
        ++tls12;
        EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
    }
    EXPECT_EQ(tls12, 6);

    // CBC, RSA key exchange and DHE are not negotiable even if the client asks for nothing else.
    for (const char* weak : {"ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA",
                             "AES128-GCM-SHA256:AES256-SHA", "DHE-RSA-AES128-GCM-SHA256"}) {
        ClientOptions o;
        o.sni = "a.test";
        o.max_version = TLS1_2_VERSION;
        o.ciphers = weak;
        Conn c(server_->native(), o);
        EXPECT_FALSE(c.handshake()) << weak;
        EXPECT_EQ(c.client_alert(), SSL_AD_HANDSHAKE_FAILURE) << weak;
    }
}

TEST_F(ServerContextTest, Tls12UsesServerOrderButHonoursChachaPreference) {
    ClientOptions o = verified("a.test");
    o.max_version = TLS1_2_VERSION;
    o.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256";
    Conn aes(server_->native(), o);
    ASSERT_TRUE(aes.handshake());
    EXPECT_EQ(protocol_name(aes.server()), "TLSv1.2");
    EXPECT_EQ(cipher_name(aes.server()), "ECDHE-ECDSA-AES128-GCM-SHA256");

    // SSL_OP_PRIORITIZE_CHACHA: a client that prefers ChaCha20 (no AES hardware) gets it.
    o.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256";
    Conn chacha(server_->native(), o);
    ASSERT_TRUE(chacha.handshake());
    EXPECT_EQ(cipher_name(chacha.server()), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST_F(ServerContextTest, OnlyModernGroups) {
    ClientOptions o = verified("a.test");
    o.groups = "P-521:ffdhe2048";
    Conn c(server_->native(), o);
    EXPECT_FALSE(c.handshake());

    o.groups = "P-384";  // HelloRetryRequest path: the callback runs twice
    Conn p384(server_->native(), o);
    EXPECT_TRUE(p384.handshake());
    EXPECT_EQ(server_name(p384.server()), "a.test");
}

TEST_F(ServerContextTest, SniPicksExactAndWildcardCertificates) {
    Conn a(server_->native(), verified("A.test"));
    ASSERT_TRUE(a.handshake());
    EXPECT_EQ(X509_cmp(a.peer_cert(), (*a_)->leaf()), 0);
    EXPECT_EQ(X509_check_host(a.peer_cert(), "a.test", 0, 0, nullptr), 1);
    EXPECT_EQ(server_name(a.server()), "a.test");

    Conn w(server_->native(), verified("shop.wild.test"));
    ASSERT_TRUE(w.handshake());
    EXPECT_EQ(SSL_get_verify_result(w.client()), X509_V_OK);
    EXPECT_EQ(X509_cmp(w.peer_cert(), (*wild_)->leaf()), 0);
    EXPECT_EQ(server_name(w.server()), "shop.wild.test");
}

TEST_F(ServerContextTest, UnknownSniFailsWithUnrecognizedName) {
    for (const char* sni : {"unknown.test", "wild.test", "a.b.wild.test"}) {
        Conn c(server_->native(), verified(sni));
        EXPECT_FALSE(c.handshake()) << sni;
        EXPECT_EQ(c.client_alert(), SSL_AD_UNRECOGNIZED_NAME) << sni;
        EXPECT_EQ(server_name(c.server()), "") << sni;
        EXPECT_EQ(requested_server_name(c.server()), sni);
    }
}

TEST_F(ServerContextTest, UnknownSniGetsTheDefaultWhenOneIsSet) {
    server_->set_certs(table(true));
    ClientOptions o;  // not verified: the default cert does not carry the requested name
    o.sni = "unknown.test";
    Conn c(server_->native(), o);
    EXPECT_TRUE(c.handshake());
    EXPECT_EQ(X509_cmp(c.peer_cert(), (*dflt_)->leaf()), 0);
    EXPECT_EQ(server_name(c.server()), "default.test");
}

TEST_F(ServerContextTest, NoSniUsesDefaultOrFails) {
    Conn refused(server_->native(), ClientOptions{});
    EXPECT_FALSE(refused.handshake());
    EXPECT_EQ(refused.client_alert(), SSL_AD_UNRECOGNIZED_NAME);

    server_->set_certs(table(true));
    Conn dflt(server_->native(), ClientOptions{});
    ASSERT_TRUE(dflt.handshake());
    EXPECT_EQ(X509_cmp(dflt.peer_cert(), (*dflt_)->leaf()), 0);
    EXPECT_EQ(server_name(dflt.server()), "default.test");
    EXPECT_EQ(requested_server_name(dflt.server()), "");
}

TEST_F(ServerContextTest, NoSniUsesTheLocalAddressCertificate) {
    for (const char* local : {"127.0.0.1", "::ffff:127.0.0.1", "[::ffff:127.0.0.1]"}) {
        ClientOptions o;
        o.local_ip = local;
        o.ca_file = ca_->root_cert_path();
        Conn c(server_->native(), o);
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c.client()), "127.0.0.1");
        ASSERT_TRUE(c.handshake()) << local;
        EXPECT_EQ(SSL_get_verify_result(c.client()), X509_V_OK);
        EXPECT_EQ(X509_cmp(c.peer_cert(), (*ip_)->leaf()), 0);
        EXPECT_EQ(server_name(c.server()), "127.0.0.1");
    }
    ClientOptions other;
    other.local_ip = "10.0.0.1";  // no certificate for that address and no default
    Conn c(server_->native(), other);
    EXPECT_FALSE(c.handshake());
    EXPECT_EQ(c.client_alert(), SSL_AD_UNRECOGNIZED_NAME);
}

TEST_F(ServerContextTest, AlpnPrefersH2ThenHttp11) {
    struct Case {
        std::vector<std::string> offer;
        std::string want;
    };
    for (const Case& k :
         {Case{{"h2", "http/1.1"}, "h2"}, Case{{"http/1.1", "h2"}, "h2"},
          Case{{"http/1.1"}, "http/1.1"}, Case{{"spdy/3", "http/1.1"}, "http/1.1"}, Case{{}, ""}}) {
        ClientOptions o = verified("a.test");
        o.alpn = k.offer;
        Conn c(server_->native(), o);
        ASSERT_TRUE(c.handshake()) << k.want;
        EXPECT_EQ(negotiated_alpn(c.server()), k.want);
    }
}

TEST_F(ServerContextTest, AlpnWithoutCommonProtocolIsFatal) {
    for (const char* proto : {"spdy/3", "acme-tls/1"}) {  // acme only with a pending challenge
        ClientOptions o = verified("a.test");
        o.alpn = {proto};
        Conn c(server_->native(), o);
        EXPECT_FALSE(c.handshake()) << proto;
        EXPECT_EQ(c.client_alert(), SSL_AD_NO_APPLICATION_PROTOCOL) << proto;
    }
}

TEST_F(ServerContextTest, AcmeTlsAlpnSeamServesTheChallengeCertificate) {
    std::string asked;
    server_->set_alpn_challenge_provider([&](std::string_view name) {
        asked = std::string(name);
        return name == "a.test" ? *dflt_ : nullptr;  // any distinct cert stands in
    });
    ClientOptions o;
    o.sni = "a.test";
    o.alpn = {"acme-tls/1"};
    Conn c(server_->native(), o);
    ASSERT_TRUE(c.handshake());
    EXPECT_EQ(asked, "a.test");
    EXPECT_EQ(negotiated_alpn(c.server()), "acme-tls/1");
    EXPECT_EQ(X509_cmp(c.peer_cert(), (*dflt_)->leaf()), 0);
    // No ticket comes out of a validation handshake, so it cannot resume as the real site.
    auto session = c.session();
    ClientOptions later;
    later.sni = "a.test";
    later.session = session.get();
    Conn resumed(server_->native(), later);
    ASSERT_TRUE(resumed.handshake());
    EXPECT_FALSE(resumed.resumed());
    EXPECT_EQ(X509_cmp(resumed.peer_cert(), (*a_)->leaf()), 0);

    // Normal clients are unaffected, even if they list acme-tls/1 among others.
    ClientOptions normal = verified("a.test");
    normal.alpn = {"acme-tls/1", "h2"};
    Conn n(server_->native(), normal);
    ASSERT_TRUE(n.handshake());
    EXPECT_EQ(negotiated_alpn(n.server()), "h2");
    EXPECT_EQ(X509_cmp(n.peer_cert(), (*a_)->leaf()), 0);
}

TEST_F(ServerContextTest, SetCertsAffectsNewHandshakesOnly) {
    auto fresh = ca_->issue({"a.test", "new.test"});  // a different leaf for a.test
    ASSERT_TRUE(fresh);
    auto t2 = std::make_shared<CertTable>();
    ASSERT_TRUE(t2->add("a.test", *fresh));

    // A handshake whose ClientHello was processed before the swap keeps the old certificate.
    Conn inflight(server_->native(), verified("a.test"));
    bool done = false;
    ASSERT_TRUE(inflight.step(&done));
    server_->set_certs(t2);
    EXPECT_EQ(server_->certs(), t2);
    ASSERT_TRUE(inflight.handshake());
    EXPECT_EQ(X509_cmp(inflight.peer_cert(), (*a_)->leaf()), 0);

    Conn after(server_->native(), verified("a.test"));
    ASSERT_TRUE(after.handshake());
    EXPECT_EQ(X509_cmp(after.peer_cert(), (*fresh)->leaf()), 0);
    Conn gone(server_->native(), verified("shop.wild.test"));
    EXPECT_FALSE(gone.handshake());

    server_->set_certs(nullptr);
    Conn none(server_->native(), verified("a.test"));
    EXPECT_FALSE(none.handshake());
    EXPECT_EQ(none.client_alert(), SSL_AD_UNRECOGNIZED_NAME);
}

TEST_F(ServerContextTest, WeakKeyIsRefusedAtHandshakeToo) {
    // load_cert_key_pem refuses RSA-1024; a CertKey built around the check still cannot be
    // served because the context runs at security level 2.
    EVP_PKEY* key = EVP_RSA_gen(1024);
    ASSERT_NE(key, nullptr);
    auto pem = testing::self_signed(key, "DNS:weak.test");
    BIO* b = BIO_new_mem_buf(pem.cert.data(), static_cast<int>(pem.cert.size()));
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    BIO_free(b);
    auto weak = std::make_shared<const CertKey>(x, nullptr, key);
    auto t = std::make_shared<CertTable>();
    ASSERT_TRUE(t->add("weak.test", weak));
    server_->set_certs(t);
    ClientOptions o;
    o.sni = "weak.test";
    o.security_level = 0;
    Conn c(server_->native(), o);
    EXPECT_FALSE(c.handshake());
    EXPECT_EQ(c.client_alert(), SSL_AD_INTERNAL_ERROR);
}

TEST_F(ServerContextTest, SslOutlivesTheServerContext) {
    Conn c(server_->native(), verified("a.test"));
    server_.reset();  // the SSL holds the SSL_CTX and with it the callback state
    EXPECT_TRUE(c.handshake());
}

TEST(ServerContextCreate, RejectsNonPositiveDurations) {
    TlsSettings s;
    s.session_lifetime = std::chrono::seconds(0);
    EXPECT_FALSE(ServerContext::create(s));
    TlsSettings r;
    r.ticket_rotation = std::chrono::seconds(-1);
    EXPECT_FALSE(ServerContext::create(r));
}

}  // namespace
}  // namespace moat::tls

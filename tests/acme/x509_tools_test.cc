// CSR, tls-alpn-01 certificate (RFC 8737 §3) and ARI certID (RFC 9773 §4.1).
#include "acme/x509_tools.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "acme/jws.h"

namespace moat::acme {
namespace {

TEST(Csr, CarriesEveryNameAndVerifies) {
    auto key = internal::generate_p256();
    ASSERT_TRUE(key);
    auto der = make_csr(key->get(), {"a.test", "www.a.test", "*.b.test"});
    ASSERT_TRUE(der) << der.error().detail;
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size()));
    ASSERT_NE(req, nullptr);
    EXPECT_EQ(X509_REQ_verify(req, key->get()), 1);
    STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
    ASSERT_NE(exts, nullptr);
    auto* san =
        static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
    ASSERT_NE(san, nullptr);
    EXPECT_EQ(sk_GENERAL_NAME_num(san), 3);
    GENERAL_NAMES_free(san);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    // Names that could inject into the SAN string are refused.
    EXPECT_FALSE(make_csr(key->get(), {"a.test,IP:1.2.3.4"}));
    EXPECT_FALSE(make_csr(key->get(), {}));
}

TEST(AlpnChallengeCert, HasCriticalAcmeIdentifierWithDigest) {
    std::string ka = "token.thumbprint";
    auto ck = make_alpn_challenge_cert("site.example.test", ka);
    ASSERT_TRUE(ck) << ck.error().detail;
    EXPECT_EQ((*ck)->names(), std::vector<std::string>{"site.example.test"});
    X509* x = (*ck)->leaf();
    ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    int idx = X509_get_ext_by_OBJ(x, oid, -1);
    ASN1_OBJECT_free(oid);
    ASSERT_GE(idx, 0);
    X509_EXTENSION* ext = X509_get_ext(x, idx);
    EXPECT_EQ(X509_EXTENSION_get_critical(ext), 1);
    ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                      static_cast<std::size_t>(ASN1_STRING_length(data)));
    EXPECT_EQ(value, std::string("\x04\x20", 2) + internal::sha256(ka));  // DER OCTET STRING
    EXPECT_EQ(X509_verify(x, X509_get0_pubkey(x)), 1);                    // self-signed
    EXPECT_FALSE(make_alpn_challenge_cert("bad name", ka));
}

// Builds a certificate with a given AKI and serial, signed by a throwaway key.
internal::X509Ptr cert_with(const std::string& akid_hex, const std::string& serial_hex) {
    auto key = internal::generate_p256();
    internal::X509Ptr x(X509_new());
    X509_set_version(x.get(), 2);
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, serial_hex.c_str());
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
    X509_set_pubkey(x.get(), key->get());
    AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
    akid->keyid = ASN1_OCTET_STRING_new();
    BIGNUM* k = nullptr;
    BN_hex2bn(&k, akid_hex.c_str());
    std::string raw(static_cast<std::size_t>(BN_num_bytes(k)), '\0');
    BN_bn2bin(k, reinterpret_cast<unsigned char*>(raw.data()));
    BN_free(k);
    ASN1_OCTET_STRING_set(akid->keyid, reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
    X509_add1_ext_i2d(x.get(), NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT);
    AUTHORITY_KEYID_free(akid);
    X509_sign(x.get(), key->get(), EVP_sha256());
    return x;
}

TEST(AriCertId, MatchesRfc9773Example) {
    // RFC 9773 §4.1: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
    // serial 00:87:65:43:21 -> "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE".
    auto x = cert_with("69885B6B87464041E1B37B847BA0AE2CDE01C8D4", "87654321");
    auto id = ari_cert_id(x.get());
    ASSERT_TRUE(id) << id.error().detail;
    EXPECT_EQ(*id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    // No leading zero when the high bit is clear.
    auto y = cert_with("0102", "1234");
    EXPECT_EQ(*ari_cert_id(y.get()), "AQI.EjQ");
}

TEST(AriCertId, NeedsAnAuthorityKeyIdentifier) {
    auto ck = make_alpn_challenge_cert("a.test", "x");
    ASSERT_TRUE(ck);
    EXPECT_FALSE(ari_cert_id((*ck)->leaf()));
}

}  // namespace
}  // namespace moat::acme

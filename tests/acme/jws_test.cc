// JWS / JWK shapes of RFC 7515, 7518, 7638 and RFC 8555 §6.2, §7.3.4, §8.1.
#include "acme/jws.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>

namespace moat::acme {
namespace {

using json = nlohmann::json;

json decode_part(const std::string& b64) {
    auto raw = internal::b64url_decode(b64);
    EXPECT_TRUE(raw) << b64;
    return raw ? json::parse(*raw) : json();
}

// Verifies an ES256 R||S signature with the key's public half (RFC 7518 §3.4).
bool verify_es256(const AccountKey& key, const std::string& data, const std::string& sig) {
    if (sig.size() != 64) return false;
    ECDSA_SIG* s = ECDSA_SIG_new();
    ECDSA_SIG_set0(s, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(s, &der);
    ECDSA_SIG_free(s);
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    bool ok =
        EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key.native()) == 1 &&
        EVP_DigestVerify(md, der, static_cast<std::size_t>(len),
                         reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

TEST(Base64Url, RoundTripsAndRejectsBadInput) {
    for (const std::string& s : std::vector<std::string>{
             "", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\xff\xfe\x00", 3)}) {
        auto d = internal::b64url_decode(internal::b64url(s));
        ASSERT_TRUE(d) << s;
        EXPECT_EQ(*d, s);
    }
    EXPECT_EQ(internal::b64url("\xfb\xff"), "-_8");  // URL alphabet, no padding
    EXPECT_FALSE(internal::b64url_decode("Zm9v="));  // padding is not base64url
    EXPECT_FALSE(internal::b64url_decode("Zm+v"));   // standard alphabet
    EXPECT_FALSE(internal::b64url_decode("Z"));      // impossible length
    EXPECT_FALSE(internal::b64url_decode("Zh"));     // non-zero trailing bits
}

TEST(JwkThumbprint, MatchesRfc7638Example) {
    // RFC 7638 §3.1.
    json jwk = {
        {"kty", "RSA"},
        {"n",
         "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
         "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
         "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qN"
         "Lyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-"
         "kEgU8awapJzKnqDKgw"},
        {"e", "AQAB"},
        {"alg", "RS256"},
        {"kid", "2011-04-29"}};
    auto tp = jwk_thumbprint(jwk);
    ASSERT_TRUE(tp) << tp.error().detail;
    EXPECT_EQ(*tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    EXPECT_FALSE(jwk_thumbprint(json{{"kty", "EC"}, {"crv", "P-256"}}));
    EXPECT_FALSE(jwk_thumbprint(json::array()));
}

TEST(AccountKey, JwkIsP256AndSurvivesPem) {
    auto k = AccountKey::generate();
    ASSERT_TRUE(k);
    const json& jwk = k->jwk();
    EXPECT_EQ(jwk["kty"], "EC");
    EXPECT_EQ(jwk["crv"], "P-256");
    EXPECT_EQ(internal::b64url_decode(jwk["x"].get<std::string>())->size(), 32u);
    EXPECT_EQ(internal::b64url_decode(jwk["y"].get<std::string>())->size(), 32u);
    EXPECT_EQ(jwk.size(), 4u);  // public members only: never "d"
    auto pem = k->to_pem();
    ASSERT_TRUE(pem);
    auto again = AccountKey::from_pem(*pem);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->thumbprint(), k->thumbprint());
    EXPECT_FALSE(AccountKey::from_pem("not a key"));
}

TEST(AccountKey, RefusesNonP256Keys) {
    auto rsa = internal::generate_rsa(2048);
    ASSERT_TRUE(rsa);
    auto pem = internal::private_key_pem(rsa->get());
    auto k = AccountKey::from_pem(*pem);
    ASSERT_FALSE(k);
    EXPECT_EQ(k.error().detail.find("PRIVATE"), std::string::npos);  // no key text in errors
}

TEST(SignRequest, NewAccountCarriesJwkAndVerifies) {
    auto k = AccountKey::generate();
    ASSERT_TRUE(k);
    auto body = sign_request(*k, "https://ca/new-acct", "nonce-1", "", json{{"a", 1}});
    ASSERT_TRUE(body);
    json jws = json::parse(*body);
    ASSERT_EQ(jws.size(), 3u);  // flattened: protected, payload, signature (RFC 7515 §7.2.2)
    json prot = decode_part(jws["protected"]);
    EXPECT_EQ(prot["alg"], "ES256");
    EXPECT_EQ(prot["nonce"], "nonce-1");
    EXPECT_EQ(prot["url"], "https://ca/new-acct");
    EXPECT_EQ(prot["jwk"], k->jwk());
    EXPECT_FALSE(prot.contains("kid"));  // RFC 8555 §6.2: jwk xor kid
    EXPECT_EQ(decode_part(jws["payload"]), (json{{"a", 1}}));
    auto sig = internal::b64url_decode(jws["signature"].get<std::string>());
    ASSERT_TRUE(sig);
    EXPECT_EQ(sig->size(), 64u);
    std::string input =
        jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
    EXPECT_TRUE(verify_es256(*k, input, *sig));
    EXPECT_FALSE(verify_es256(*k, input + "x", *sig));
}

TEST(SignRequest, PostAsGetHasEmptyPayloadAndKid) {
    auto k = AccountKey::generate();
    auto body = sign_request(*k, "https://ca/order/1", "n2", "https://ca/acct/7", std::nullopt);
    ASSERT_TRUE(body);
    json jws = json::parse(*body);
    EXPECT_EQ(jws["payload"], "");  // RFC 8555 §6.3
    json prot = decode_part(jws["protected"]);
    EXPECT_EQ(prot["kid"], "https://ca/acct/7");
    EXPECT_FALSE(prot.contains("jwk"));
}

TEST(ExternalAccountBinding, IsHs256OverTheJwk) {
    auto k = AccountKey::generate();
    std::string mac_key = "secret-mac-key-bytes-0123456789";
    auto eab =
        external_account_binding(*k, "kid-1", internal::b64url(mac_key), "https://ca/new-acct");
    ASSERT_TRUE(eab);
    json prot = decode_part((*eab)["protected"]);
    EXPECT_EQ(prot["alg"], "HS256");
    EXPECT_EQ(prot["kid"], "kid-1");
    EXPECT_EQ(prot["url"], "https://ca/new-acct");
    EXPECT_FALSE(prot.contains("nonce"));  // RFC 8555 §7.3.4: no nonce
    EXPECT_EQ(decode_part((*eab)["payload"]), k->jwk());
    std::string input =
        (*eab)["protected"].get<std::string>() + "." + (*eab)["payload"].get<std::string>();
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), mac_key.data(), static_cast<int>(mac_key.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    EXPECT_EQ((*eab)["signature"],
              internal::b64url(std::string(reinterpret_cast<char*>(mac), len)));
    EXPECT_FALSE(external_account_binding(*k, "kid", "!!!", "https://ca/new-acct"));
}

TEST(KeyAuthorization, TokenDotThumbprintAndDnsDigest) {
    auto k = AccountKey::generate();
    std::string ka = key_authorization("tok", *k);
    EXPECT_EQ(ka, "tok." + k->thumbprint());
    EXPECT_EQ(dns01_value(ka), internal::b64url(internal::sha256(ka)));
    EXPECT_EQ(dns01_value(ka).size(), 43u);
}

}  // namespace
}  // namespace moat::acme

#include "acme/jws.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>

namespace moat::acme {
namespace {

using internal::b64url;
using json = nlohmann::json;

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
    void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};

Result<std::string> coordinate(EVP_PKEY* key, const char* param) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, param, &raw) != 1)
        return internal::ossl_error(Errc::kInvalidArgument, "reading the public key failed");
    std::unique_ptr<BIGNUM, BnFree> bn(raw);
    std::string out(32, '\0');
    // RFC 7518 §6.2.1.2: x and y are the full field size, left-padded with zeros.
    if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), 32) != 32)
        return make_error(Errc::kInvalidArgument, "public key coordinate too large");
    return out;
}

}  // namespace

Result<std::string> jwk_thumbprint(const json& jwk) {
    if (!jwk.is_object() || !jwk.contains("kty") || !jwk["kty"].is_string())
        return make_error(Errc::kInvalidArgument, "JWK without kty");
    std::string kty = jwk["kty"];
    std::vector<const char*> members;
    if (kty == "EC")
        members = {"crv", "kty", "x", "y"};
    else if (kty == "RSA")
        members = {"e", "kty", "n"};
    else if (kty == "oct")
        members = {"k", "kty"};
    else
        return make_error(Errc::kInvalidArgument, "JWK type " + kty + " not supported");
    json canon = json::object();  // nlohmann orders object keys: the RFC 7638 order
    for (const char* m : members) {
        if (!jwk.contains(m) || !jwk[m].is_string())
            return make_error(Errc::kInvalidArgument, std::string("JWK without ") + m);
        canon[m] = jwk[m];
    }
    return b64url(internal::sha256(canon.dump()));
}

Result<AccountKey> AccountKey::wrap(internal::PkeyPtr key) {
    char group[32] = {0};
    std::size_t glen = 0;
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
        EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &glen) != 1 ||
        std::string_view(group) != "prime256v1") {
        return make_error(Errc::kInvalidArgument, "account key is not ECDSA P-256");
    }
    auto x = coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_X);
    if (!x) return x.error();
    auto y = coordinate(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
    if (!y) return y.error();
    json jwk = {{"crv", "P-256"}, {"kty", "EC"}, {"x", b64url(*x)}, {"y", b64url(*y)}};
    auto tp = jwk_thumbprint(jwk);
    if (!tp) return tp.error();
    std::shared_ptr<EVP_PKEY> shared(key.release(), EVP_PKEY_free);
    return AccountKey(std::move(shared), std::move(jwk), std::move(*tp));
}

Result<AccountKey> AccountKey::generate() {
    auto k = internal::generate_p256();
    if (!k) return k.error();
    return wrap(std::move(*k));
}

Result<AccountKey> AccountKey::from_pem(std::string_view pem) {
    auto k = internal::parse_private_key_pem(pem);
    if (!k) return make_error(Errc::kInvalidArgument, "account key: " + k.error().detail);
    return wrap(std::move(*k));
}

Result<std::string> AccountKey::to_pem() const { return internal::private_key_pem(key_.get()); }

Result<std::string> AccountKey::sign(std::string_view data) const {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
    std::size_t len = 0;
    if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1)
        return internal::ossl_error(Errc::kInternal, "ES256 signing failed");
    std::string der(len, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
        return internal::ossl_error(Errc::kInternal, "ES256 signing failed");
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<ECDSA_SIG, SigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
    if (!sig) return internal::ossl_error(Errc::kInternal, "ES256 signature decoding failed");
    // RFC 7518 §3.4: R and S as 32-byte big-endian octet strings, concatenated.
    std::string out(64, '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), o, 32) != 32 ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), o + 32, 32) != 32)
        return make_error(Errc::kInternal, "ES256 signature too large");
    return out;
}

Result<std::string> sign_request(const AccountKey& key, std::string_view url,
                                 std::string_view nonce, std::string_view kid,
                                 const std::optional<json>& payload) {
    json prot = {{"alg", "ES256"}, {"nonce", nonce}, {"url", url}};
    if (kid.empty())
        prot["jwk"] = key.jwk();
    else
        prot["kid"] = kid;
    std::string p64 = b64url(prot.dump());
    std::string pl64 = payload ? b64url(payload->dump()) : std::string();
    auto sig = key.sign(p64 + "." + pl64);
    if (!sig) return sig.error();
    json jws = {{"protected", p64}, {"payload", pl64}, {"signature", b64url(*sig)}};
    return jws.dump();
}

Result<json> external_account_binding(const AccountKey& key, std::string_view eab_kid,
                                      std::string_view hmac_key_b64url,
                                      std::string_view new_account_url) {
    // Some CAs hand out the key with padding or in the standard alphabet; accept both shapes.
    std::string k(hmac_key_b64url);
    while (!k.empty() && k.back() == '=') k.pop_back();
    for (char& c : k) c = c == '+' ? '-' : c == '/' ? '_' : c;
    auto mac_key = internal::b64url_decode(k);
    if (!mac_key || mac_key->empty())
        return make_error(Errc::kInvalidArgument, "eab_hmac_key is not base64url");
    json prot = {{"alg", "HS256"}, {"kid", eab_kid}, {"url", new_account_url}};
    std::string p64 = b64url(prot.dump());
    std::string pl64 = b64url(key.jwk().dump());
    std::string input = p64 + "." + pl64;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), mac_key->data(), static_cast<int>(mac_key->size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
             &mac_len) == nullptr)
        return internal::ossl_error(Errc::kInternal, "HS256 failed");
    return json{{"protected", p64},
                {"payload", pl64},
                {"signature", b64url(std::string(reinterpret_cast<char*>(mac), mac_len))}};
}

std::string key_authorization(std::string_view token, const AccountKey& key) {
    return std::string(token) + "." + key.thumbprint();
}

std::string dns01_value(std::string_view key_authz) { return b64url(internal::sha256(key_authz)); }

}  // namespace moat::acme

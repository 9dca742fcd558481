#pragma once
// JSON Web Signatures the way ACME uses them (RFC 8555 §6.2): flattened JSON serialization
// (RFC 7515 §7.2.2), ES256 with the account's P-256 key (RFC 7518 §3.4: the signature is
// R || S, 32 bytes each, not DER), a protected header carrying alg, nonce, url and either the
// public JWK (newAccount) or the account URL as kid. Also the External Account Binding
// (RFC 8555 §7.3.4, HS256) and key authorizations (§8.1, RFC 7638 thumbprints).

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "acme/internal/crypto.h"
#include "core/result.h"

namespace moat::acme {

// An ECDSA P-256 account key. Immutable; copies share the key. Never printed or logged: the
// only serialisation is to_pem(), whose result goes to the Sealer.
class AccountKey {
public:
    static Result<AccountKey> generate();
    static Result<AccountKey> from_pem(std::string_view pem);  // kInvalidArgument unless P-256
    Result<std::string> to_pem() const;

    // The public JWK {"crv":"P-256","kty":"EC","x":...,"y":...} (RFC 7518 §6.2.1).
    const nlohmann::json& jwk() const { return jwk_; }
    // base64url(SHA-256(JWK in RFC 7638 canonical form)).
    const std::string& thumbprint() const { return thumbprint_; }
    // ES256 over `data`: 64 bytes R || S.
    Result<std::string> sign(std::string_view data) const;
    EVP_PKEY* native() const { return key_.get(); }

private:
    static Result<AccountKey> wrap(internal::PkeyPtr key);
    AccountKey(std::shared_ptr<EVP_PKEY> key, nlohmann::json jwk, std::string tp)
        : key_(std::move(key)), jwk_(std::move(jwk)), thumbprint_(std::move(tp)) {}
    std::shared_ptr<EVP_PKEY> key_;
    nlohmann::json jwk_;
    std::string thumbprint_;
};

// RFC 7638 §3: the required members only (EC: crv, kty, x, y; RSA: e, kty, n; oct: k, kty),
// sorted, no whitespace, hashed with SHA-256, base64url. kInvalidArgument for other key types
// or missing members.
Result<std::string> jwk_thumbprint(const nlohmann::json& jwk);

// The flattened JWS for one ACME POST. `kid` empty: the header carries the JWK instead
// (newAccount, §6.2). `payload` nullopt: POST-as-GET, the payload is the empty string (§6.3).
Result<std::string> sign_request(const AccountKey& key, std::string_view url,
                                 std::string_view nonce, std::string_view kid,
                                 const std::optional<nlohmann::json>& payload);

// RFC 8555 §7.3.4: the externalAccountBinding object for newAccount: a JWS with protected
// {alg: HS256, kid: eab_kid, url: new_account_url} over the account's public JWK, MAC'd with
// the base64url-decoded `hmac_key_b64url`. kInvalidArgument when the key is not base64url.
Result<nlohmann::json> external_account_binding(const AccountKey& key, std::string_view eab_kid,
                                                std::string_view hmac_key_b64url,
                                                std::string_view new_account_url);

// RFC 8555 §8.1: token || '.' || thumbprint.
std::string key_authorization(std::string_view token, const AccountKey& key);
// RFC 8555 §8.4: the TXT value for dns-01, base64url(SHA-256(key authorization)).
std::string dns01_value(std::string_view key_authz);

}  // namespace moat::acme

#pragma once
// X.509 pieces the ACME flow makes or reads: the CSR for finalize (RFC 8555 §7.4), the
// tls-alpn-01 challenge certificate (RFC 8737 §3), the ARI certificate identifier
// (RFC 9773 §4.1) and the few facts `moat certs` shows.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acme/internal/crypto.h"
#include "core/result.h"
#include "tls/cert_key.h"

namespace moat::acme {

// DER CSR for `names` (all in subjectAltName, the first also as CN), signed with `key`.
Result<std::string> make_csr(EVP_PKEY* key, const std::vector<std::string>& names);

// RFC 8737 §3: a self-signed certificate for `name` (its only SAN) with the critical
// id-pe-acmeIdentifier extension (1.3.6.1.5.5.7.1.31) holding the DER OCTET STRING of
// SHA-256(key authorization). Fresh P-256 key, valid a day around now.
Result<std::shared_ptr<const tls::CertKey>> make_alpn_challenge_cert(std::string_view name,
                                                                     std::string_view key_authz);

// RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial DER content octets).
// kInvalidArgument when the certificate has no Authority Key Identifier.
Result<std::string> ari_cert_id(X509* cert);

struct CertFacts {
    std::vector<std::string> names;
    std::string issuer;  // issuer CN (or the whole DN when it has no CN)
    std::chrono::system_clock::time_point not_before, not_after;
};
CertFacts cert_facts(const tls::CertKey& ck);

}  // namespace moat::acme

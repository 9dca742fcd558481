#pragma once
// TLS settings: where certificates come from, per host, and the session-ticket policy.
// The protocol policy itself (TLS 1.2+, ECDHE+AEAD, X25519/P-256/P-384) is fixed, not a setting.

#include <chrono>
#include <string>
#include <vector>

namespace moat::tls {

enum class CertSource { kInternal, kFiles, kAcme };

// One certificate and the names it must cover.
struct CertSpec {
    std::vector<std::string> names;  // DNS names or IP literals; first is the canonical one
    CertSource source = CertSource::kInternal;
    std::string cert_file;  // kFiles: PEM chain, leaf first
    std::string key_file;   // kFiles: PEM private key
    // Optional RSA certificate for the same names, served beside cert_file to clients that
    // cannot verify ECDSA (kFiles, kAcme); both empty: none.
    std::string rsa_cert_file;
    std::string rsa_key_file;
    // kInternal: also an RSA-2048 leaf from the internal CA, served the same way (the site's
    // key_type = ["ecdsa-p256", "rsa2048"]).
    bool internal_rsa = false;
};

struct TlsSettings {
    std::vector<CertSpec> certs;
    std::string
        default_host;  // a host whose certificate answers unknown/missing SNI; empty: refuse
    std::string internal_ca_dir;  // where the internal CA lives (created on first use)
    std::chrono::seconds ticket_rotation{12 * 3600};
    std::chrono::seconds session_lifetime{86400};  // testssl flags ticket hints above one day
};

}  // namespace moat::tls

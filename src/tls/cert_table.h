#pragma once
// Which certificate answers which server name.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "tls/cert_key.h"

namespace moat::tls {

// The certificates presented for one set of names: `cert` (ECDSA P-256 normally) and, when
// configured, an RSA one beside it for old clients. Both are installed on the connection and
// OpenSSL picks by what the client can verify (TLS 1.3 signature_algorithms, RFC 8446 §4.2.3;
// TLS 1.2 cipher suites): ECDSA first in the server's order, RSA only for a client that offers
// nothing ECDSA can serve.
struct CertEntry {
    std::shared_ptr<const CertKey> cert;
    std::shared_ptr<const CertKey> rsa;  // may be null
};

// Maps server names to certificates: exact DNS names, one-label wildcards ("*.example.com",
// RFC 6125 §6.4.3) and IP literals ("127.0.0.1", "::1"), plus an optional default.
// Built by one thread with add()/set_default(), then published as
// std::shared_ptr<const CertTable> and never modified: const methods are safe from any thread.
class CertTable {
public:
    // Registers `name` (DNS name, "*.domain" wildcard or IP literal; case and a trailing dot
    // do not matter). Errors: kInvalidArgument for a malformed name or a null cert, kConflict
    // if the name is already registered. `rsa`, if not null, must have an RSA key and `cert`
    // must not (OpenSSL keeps one certificate per key type): kInvalidArgument otherwise.
    Result<void> add(std::string_view name, std::shared_ptr<const CertKey> cert,
                     std::shared_ptr<const CertKey> rsa = nullptr);

    // Makes the certificate that find(name) returns the answer for handshakes whose name
    // matches nothing (normally TlsSettings::default_host); default_name() reports `name`.
    // Errors: kNotFound if no entry matches `name` (add it first).
    Result<void> set_default(std::string_view name);

    // The certificate for `host` (SNI value or IP literal): an exact entry first, then a
    // wildcard one label up. Never falls back to the default. The pointer lives as long as
    // this table.
    const CertKey* find(std::string_view host) const;
    // The same lookup, with the RSA certificate beside it; null if none matches.
    const CertEntry* find_entry(std::string_view host) const;

    const CertKey* default_cert() const { return default_.cert.get(); }
    const CertEntry* default_entry() const { return default_.cert ? &default_ : nullptr; }
    const std::string& default_name() const { return default_name_; }
    std::size_t size() const { return exact_.size() + wildcard_.size(); }

private:
    std::unordered_map<std::string, CertEntry> exact_;
    std::unordered_map<std::string, CertEntry> wildcard_;  // key: "example.com"
    std::string default_name_;
    CertEntry default_;
};

}  // namespace moat::tls

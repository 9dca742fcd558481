#pragma once
// A certificate chain and its private key, loaded once and shared read-only by every
// handshake that presents it.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::tls {

// Owns a leaf certificate, the intermediates sent after it and the leaf's private key.
// Immutable after loading and shared as std::shared_ptr<const CertKey> between CertTables and
// threads; OpenSSL reference-counts the objects, so SSL_use_cert_and_key may take them from any
// thread. The accessors return non-const pointers only because OpenSSL's API wants them; never
// modify the objects.
class CertKey {
public:
    // Takes ownership of all three; `chain` may be null (leaf only).
    CertKey(X509* leaf, STACK_OF(X509) * chain, EVP_PKEY* key);
    ~CertKey();
    CertKey(const CertKey&) = delete;
    CertKey& operator=(const CertKey&) = delete;

    X509* leaf() const { return leaf_; }
    STACK_OF(X509) * chain() const { return chain_; }  // never null; may be empty
    EVP_PKEY* key() const { return key_; }

    // Names from the subjectAltName extension: DNS names lower-cased (wildcards kept as
    // "*.example.com"), IP addresses in canonical text. The subject CN is ignored, as browsers
    // do (RFC 6125 §6.4.4).
    const std::vector<std::string>& names() const { return names_; }
    std::chrono::system_clock::time_point not_before() const { return not_before_; }
    std::chrono::system_clock::time_point not_after() const { return not_after_; }

    // True if a client connecting to `name` would accept this certificate's names: an exact
    // SAN, a SAN wildcard covering it (RFC 6125 §6.4.3), or for a wildcard `name` the same
    // wildcard. IP literals compare in canonical form.
    bool covers(std::string_view name) const;

private:
    X509* leaf_;
    STACK_OF(X509) * chain_;
    EVP_PKEY* key_;
    std::vector<std::string> names_;
    std::chrono::system_clock::time_point not_before_;
    std::chrono::system_clock::time_point not_after_;
};

// Parses a PEM chain (leaf first, then intermediates) and an unencrypted PEM private key.
// Errors (kInvalidArgument): no certificate, unreadable or encrypted key, key does not match
// the leaf, key or signatures weaker than security level 2 (112-bit: RSA < 2048, SHA-1).
// Messages never contain key material.
Result<std::shared_ptr<const CertKey>> load_cert_key_pem(std::string_view cert_pem,
                                                         std::string_view key_pem);

// load_cert_key_pem on the contents of two files; errors name the file (kNotFound if missing).
Result<std::shared_ptr<const CertKey>> load_cert_key_files(const std::string& cert_pem_path,
                                                           const std::string& key_pem_path);

}  // namespace moat::tls

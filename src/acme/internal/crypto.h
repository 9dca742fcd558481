#pragma once
// Small crypto and encoding helpers private to the acme part: base64url (RFC 4648 §5, no
// padding, as JOSE wants), SHA-256, key generation and PEM. OpenSSL errors are drained into
// messages that name the step, never key bytes.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/files.h"
#include "core/result.h"

namespace moat::acme::internal {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string b64url(std::string_view bytes);
// Strict: only the URL-safe alphabet, no padding, no whitespace. kInvalidArgument otherwise.
Result<std::string> b64url_decode(std::string_view text);
// Standard alphabet with padding (TSIG secrets, PEM bodies). kInvalidArgument when malformed.
Result<std::string> b64_decode(std::string_view text);

std::string sha256(std::string_view bytes);  // 32 raw bytes

// "what: <openssl reasons>" and clears the error queue.
Error ossl_error(Errc code, std::string what);

Result<PkeyPtr> generate_p256();
Result<PkeyPtr> generate_rsa(int bits);
Result<std::string> private_key_pem(EVP_PKEY* key);  // PKCS#8, unencrypted
Result<PkeyPtr> parse_private_key_pem(std::string_view pem);

// Files: read whole, written atomically, created once, folders made (core/files.h).
using core::create_file_once;
using core::make_dirs;
using core::read_file;
using core::write_file_atomic;

}  // namespace moat::acme::internal

#pragma once
// OpenSSL ownership wrappers and error formatting shared by the tls part only.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/files.h"
#include "core/result.h"

namespace moat::tls::internal {

struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const { BIO_free(p); }
};
struct ChainFree {
    void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using ChainPtr = std::unique_ptr<STACK_OF(X509), ChainFree>;

// Drains this thread's OpenSSL error queue into "reason; reason" (empty if it was empty).
// OpenSSL error strings name the failing step, never key bytes, so they are safe to log.
std::string drain_errors();

// An Error whose detail is `what` followed by the drained OpenSSL errors, if any.
Error ossl_error(Errc code, std::string what);

std::string hex(const unsigned char* data, std::size_t len);

// A read-only memory BIO over `data`; `data` must outlive the BIO.
BioPtr mem_bio(std::string_view data);

// PEM text of a certificate / unencrypted PKCS#8 private key.
Result<std::string> cert_pem(X509* cert);
Result<std::string> key_pem(EVP_PKEY* key);

// Files read whole and written atomically (core/files.h; 0600 for keys).
using core::read_file;
using core::write_file_atomic;

}  // namespace moat::tls::internal

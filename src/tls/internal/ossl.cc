#include "tls/internal/ossl.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace moat::tls::internal {

std::string drain_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out;
}

Error ossl_error(Errc code, std::string what) {
    std::string errs = drain_errors();
    if (!errs.empty()) what += " (" + errs + ")";
    return make_error(code, std::move(what));
}

std::string hex(const unsigned char* data, std::size_t len) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (std::size_t i = 0; i < len; ++i) {
        out += kDigits[data[i] >> 4];
        out += kDigits[data[i] & 0xf];
    }
    return out;
}

BioPtr mem_bio(std::string_view data) {
    return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

namespace {

Result<std::string> bio_string(BIO* bio) {
    char* p = nullptr;
    long n = BIO_get_mem_data(bio, &p);
    if (n < 0) return ossl_error(Errc::kInternal, "reading memory BIO");
    return std::string(p, static_cast<std::size_t>(n));
}

}  // namespace

Result<std::string> cert_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
        return ossl_error(Errc::kInternal, "encoding certificate");
    return bio_string(bio.get());
}

Result<std::string> key_pem(EVP_PKEY* key) {
    // BIO_s_secmem keeps the encoded key out of ordinary heap pages where the secure heap
    // is enabled; the copy we return is cleansed by the caller after writing it out.
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return ossl_error(Errc::kInternal, "encoding private key");
    return bio_string(bio.get());
}

}  // namespace moat::tls::internal

#include "tls/internal/ossl.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

Result<void> write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return ossl_error(Errc::kInternal, "RAND_bytes");
    std::string tmp = path + ".tmp-" + hex(rnd, sizeof rnd);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return make_error(Errc::kIo, "create " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return make_error(Errc::kIo, "write " + tmp + ": " + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    // fsync before rename: after a crash the name must not point at an empty file.
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return make_error(Errc::kIo, "sync " + tmp + ": " + std::strerror(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return make_error(Errc::kIo, "rename to " + path + ": " + std::strerror(err));
    }
    return {};
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int err = errno;
        return make_error(err == ENOENT ? Errc::kNotFound : Errc::kIo,
                          path + ": " + std::strerror(err));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return make_error(Errc::kIo, path + ": read failed");
    return ss.str();
}

}  // namespace moat::tls::internal

#include "acme/internal/crypto.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace moat::acme::internal {
namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct PctxFree {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c, const char* alphabet) {
    for (int i = 0; i < 64; ++i)
        if (alphabet[i] == c) return i;
    return -1;
}

Result<std::string> decode(std::string_view text, const char* alphabet) {
    std::string out;
    out.reserve(text.size() * 3 / 4);
    unsigned acc = 0;
    int bits = 0;
    for (char c : text) {
        int v = value_of(c, alphabet);
        if (v < 0) return make_error(Errc::kInvalidArgument, "invalid base64 character");
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    // Leftover bits must be zero and fewer than 6 (RFC 4648 §3.5: canonical encoding).
    if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
        return make_error(Errc::kInvalidArgument, "invalid base64 length or padding bits");
    return out;
}

}  // namespace

std::string b64url(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    unsigned acc = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kUrl[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(kUrl[(acc << (6 - bits)) & 0x3f]);
    return out;
}

Result<std::string> b64url_decode(std::string_view text) { return decode(text, kUrl); }

Result<std::string> b64_decode(std::string_view text) {
    std::string clean;
    for (char c : text)
        if (c != '\n' && c != '\r' && c != ' ') clean.push_back(c);
    if (clean.size() % 4 != 0) return make_error(Errc::kInvalidArgument, "invalid base64 length");
    std::size_t pad = 0;
    while (!clean.empty() && clean.back() == '=' && pad < 2) {
        clean.pop_back();
        ++pad;
    }
    return decode(clean, kStd);
}

std::string sha256(std::string_view bytes) {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), 32);
}

Error ossl_error(Errc code, std::string what) {
    std::string reasons;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!reasons.empty()) reasons += "; ";
        reasons += buf;
    }
    if (!reasons.empty()) what += ": " + reasons;
    return make_error(code, std::move(what));
}

Result<PkeyPtr> generate_p256() {
    EVP_PKEY* k = EVP_EC_gen("P-256");
    if (k == nullptr) return ossl_error(Errc::kInternal, "P-256 key generation failed");
    return PkeyPtr(k);
}

Result<PkeyPtr> generate_rsa(int bits) {
    EVP_PKEY* k = EVP_RSA_gen(static_cast<unsigned>(bits));
    if (k == nullptr) return ossl_error(Errc::kInternal, "RSA key generation failed");
    return PkeyPtr(k);
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, BioFree> b(BIO_new(BIO_s_mem()));
    if (!b || PEM_write_bio_PrivateKey(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return ossl_error(Errc::kInternal, "encoding a private key failed");
    char* p = nullptr;
    long n = BIO_get_mem_data(b.get(), &p);
    return std::string(p, static_cast<std::size_t>(n));
}

Result<PkeyPtr> parse_private_key_pem(std::string_view pem) {
    std::unique_ptr<BIO, BioFree> b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    // A null passphrase callback with an empty string: encrypted keys fail instead of prompting.
    EVP_PKEY* k = PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, const_cast<char*>(""));
    if (k == nullptr) return ossl_error(Errc::kInvalidArgument, "not a readable private key");
    return PkeyPtr(k);
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return make_error(Errc::kNotFound, path + ": no such file");
        return make_error(Errc::kIo, path + ": " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return make_error(Errc::kIo, path + ": read failed");
    return ss.str();
}

namespace {

// Writes `data` to a new temp file beside `path` (mode `mode`, fsynced) and returns its name.
// The name is unique per process and call, so threads and processes never share one.
Result<std::string> write_temp(const std::string& path, std::string_view data, unsigned mode) {
    static std::atomic<unsigned> counter{0};
    std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                      std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return make_error(Errc::kIo, "create " + tmp + ": " + std::strerror(errno));
    ::fchmod(fd, mode);  // O_CREAT's mode is masked by the umask
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            std::string e = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            return make_error(Errc::kIo, "write " + tmp + ": " + e);
        }
        off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(tmp.c_str());
        return make_error(Errc::kIo, "fsync " + tmp + ": " + std::strerror(errno));
    }
    return tmp;
}

// Makes a new name in the folder durable.
void fsync_parent(const std::string& path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace

Result<void> write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
    auto tmp = write_temp(path, data, mode);
    if (!tmp) return tmp.error();
    if (::rename(tmp->c_str(), path.c_str()) != 0) {
        std::string e = std::strerror(errno);
        ::unlink(tmp->c_str());
        return make_error(Errc::kIo, "rename " + path + ": " + e);
    }
    fsync_parent(path);
    return {};
}

Result<bool> create_file_once(const std::string& path, std::string_view data, unsigned mode) {
    auto tmp = write_temp(path, data, mode);
    if (!tmp) return tmp.error();
    // link() fails with EEXIST where rename() would replace: the first creator wins, whole.
    int rc = ::link(tmp->c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp->c_str());
    if (rc == 0) {
        fsync_parent(path);
        return true;
    }
    if (err == EEXIST) return false;
    return make_error(Errc::kIo, "link " + path + ": " + std::strerror(err));
}

Result<void> make_dirs(const std::string& path, unsigned mode) {
    std::filesystem::path p(path);
    std::filesystem::path cur;
    for (const auto& part : p) {
        cur /= part;
        if (cur.string() == "/" || cur.empty()) continue;
        if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
            return make_error(Errc::kIo, "mkdir " + cur.string() + ": " + std::strerror(errno));
    }
    return {};
}

}  // namespace moat::acme::internal

#include "acme/internal/crypto.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

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

}  // namespace moat::acme::internal

#pragma once
// SHA-256 in lower-case hex for the release part (OpenSSL EVP): manifest hashes, upload checks.
// Private to release/. A Sha256 object is used by one thread; the functions are thread-safe.

#include <openssl/evp.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace moat::release::internal {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t n);
    std::string hex();  // lower-case hex; the object is spent afterwards

private:
    EVP_MD_CTX* ctx_;
};

std::string sha256_hex(std::string_view data);
// 64 lower-case hex digits.
bool is_sha256_hex(std::string_view s);

}  // namespace moat::release::internal

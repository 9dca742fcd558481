#pragma once
// Session-ticket encryption keys: generated in memory, rotated, never written to disk.

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace moat::tls {

// A ring of ticket keys {16-byte name, AES-256 key, HMAC-SHA256 key}. New tickets use the
// newest key; tickets under the kPrevious older keys still decrypt and are then re-issued
// under the newest one. Keys come from RAND_bytes and live only in memory, so a restart
// invalidates every ticket (forward secrecy of resumption is bounded by the rotation period
// times the ring size).
// Shared by all worker threads through the one SSL_CTX; every method is thread-safe. The mutex
// is held only for a copy of 80 bytes per handshake.
class TicketKeys {
public:
    using Clock = std::function<std::chrono::system_clock::time_point()>;
    static constexpr std::size_t kPrevious = 2;

    // `rotation`: how long a key is the newest one. `clock` defaults to system_clock::now.
    explicit TicketKeys(std::chrono::seconds rotation, Clock clock = {});
    ~TicketKeys();
    TicketKeys(const TicketKeys&) = delete;
    TicketKeys& operator=(const TicketKeys&) = delete;

    // The OpenSSL 3 ticket callback body (SSL_CTX_set_tlsext_ticket_key_evp_cb). enc=1: fills
    // `key_name` and `iv` and keys both contexts; returns 1, or -1 on failure. enc=0: returns 0
    // for an unknown key name (full handshake), 1 for the newest key, 2 for an older one (use
    // and renew), -1 on failure. Rotates first when the newest key is older than `rotation`.
    int on_ticket(unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                  EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc);

    // Starts a new key now (e.g. on operator request); the oldest key drops out of the ring.
    void rotate_now();

    // Keys currently able to decrypt (1 + up to kPrevious); for tests and metrics.
    std::size_t size() const;

private:
    struct Key {
        std::array<unsigned char, 16> name;
        std::array<unsigned char, 32> aes;
        std::array<unsigned char, 32> hmac;
    };
    void rotate_locked(std::chrono::system_clock::time_point now);
    void maybe_rotate_locked(std::chrono::system_clock::time_point now);

    const std::chrono::seconds rotation_;
    const Clock clock_;
    mutable std::mutex mu_;
    std::deque<Key> ring_;  // front: newest
    std::chrono::system_clock::time_point newest_since_;
};

}  // namespace moat::tls

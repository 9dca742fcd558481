#pragma once
// Small OpenSSL wrappers the admin part needs: random bytes, SHA-256, HMAC, hex and base64url,
// AES-256-GCM sealing, and the admin key file. Private to admin/.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::admin::internal {

std::string random_bytes(std::size_t n);  // aborts if the CSPRNG fails (nothing safe to do)
std::string hex(std::string_view bytes);  // lower case
std::string sha256_hex(std::string_view data);
// HMAC with SHA-1 (TOTP, RFC 4226 §5.2) or SHA-256 (the audit chain); raw digest bytes.
std::string hmac_sha1(std::string_view key, std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string base64url(std::string_view bytes);  // RFC 4648 §5, no padding
// Equal without an early exit (CRYPTO_memcmp); false when the sizes differ.
bool equal_ct(std::string_view a, std::string_view b);

// AES-256-GCM: nonce (12 random bytes) || ciphertext || tag (16). `aad` is bound to the text
// (the principal's name, so a sealed secret cannot be moved to another row).
std::string seal(std::string_view key, std::string_view plain, std::string_view aad);
// kDenied when the tag does not verify (wrong key, edited data).
Result<std::string> unseal(std::string_view key, std::string_view sealed, std::string_view aad);

// The 32-byte admin key: read from `path`, or created there (0600, O_EXCL, fsynced) when it
// does not exist. Refused (kDenied) when group or others may read it: it keys the audit chain
// and seals every TOTP secret.
Result<std::string> load_or_create_key(const std::string& path);
// Sub-keys of the admin key for separate uses (HMAC(key, label)).
std::string derive_key(std::string_view key, std::string_view label);

}  // namespace moat::admin::internal

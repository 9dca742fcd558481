#pragma once
// TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits) and what enrolment needs: base32
// secrets (RFC 4648 §6), the otpauth:// URI authenticator apps read, and a QR code of it drawn
// on a terminal (libqrencode).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::admin {

// 20 random bytes (RFC 4226 §4 recommends 160 bits), base32 without padding.
std::string new_totp_secret();
std::string base32_encode(std::string_view bytes);         // RFC 4648, no padding
Result<std::string> base32_decode(std::string_view text);  // case-insensitive, padding optional

// The 6-digit code for the time step `step` (= unix seconds / 30).
Result<std::string> totp_code(std::string_view base32_secret, std::int64_t step);
std::int64_t totp_step(std::chrono::system_clock::time_point t);

// The step (within ±1 of now, RFC 6238 §5.2) whose code equals `code`, or nullopt.
std::optional<std::int64_t> totp_match(std::string_view base32_secret, std::string_view code,
                                       std::chrono::system_clock::time_point now);

// otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        std::string_view base32_secret);

// The QR code of `text` as lines of Unicode half blocks (two modules per character row),
// with the quiet zone, dark on light; kInternal if libqrencode fails.
Result<std::string> qr_terminal(std::string_view text);

}  // namespace moat::admin

#include "admin/totp.h"

#include <qrencode.h>

#include <array>
#include <cctype>
#include <memory>

#include "admin/internal/crypto.h"
#include "admin/internal/hotp.h"

namespace moat::admin {
namespace {

constexpr std::int64_t kPeriod = 30;  // seconds, RFC 6238 §4.1 default X
constexpr int kDigits = 6;
constexpr int kQuietZone = 2;  // modules of light border around the code
constexpr const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// RFC 3986 §2.3 unreserved characters pass; everything else is percent-encoded.
std::string uri_escape(std::string_view s) {
    static const char* k = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += k[c >> 4];
            out += k[c & 15];
        }
    }
    return out;
}

struct QrFree {
    void operator()(QRcode* q) const { QRcode_free(q); }
};

}  // namespace

namespace internal {

std::string hotp(std::string_view key, std::uint64_t counter, int digits) {
    std::array<char, 8> msg{};
    for (int i = 7; i >= 0; --i, counter >>= 8) msg[i] = static_cast<char>(counter & 0xff);
    std::string mac = hmac_sha1(key, std::string_view(msg.data(), msg.size()));
    // RFC 4226 §5.3: dynamic truncation.
    int off = static_cast<unsigned char>(mac[19]) & 0x0f;
    std::uint32_t bin =
        (static_cast<std::uint32_t>(static_cast<unsigned char>(mac[off]) & 0x7f) << 24) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(mac[off + 1])) << 16) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(mac[off + 2])) << 8) |
        static_cast<std::uint32_t>(static_cast<unsigned char>(mac[off + 3]));
    std::uint32_t mod = 1;
    for (int i = 0; i < digits; ++i) mod *= 10;
    std::string code = std::to_string(bin % mod);
    return std::string(static_cast<std::size_t>(digits) - code.size(), '0') + code;
}

}  // namespace internal

std::string new_totp_secret() { return base32_encode(internal::random_bytes(20)); }

std::string base32_encode(std::string_view bytes) {
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out += kAlphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0) out += kAlphabet[(acc << (5 - bits)) & 31];
    return out;
}

Result<std::string> base32_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : text) {
        int c = std::toupper(static_cast<unsigned char>(ch));
        int v = -1;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        if (c >= '2' && c <= '7') v = c - '2' + 26;
        if (v < 0) return make_error(Errc::kInvalidArgument, "not base32");
        acc = (acc << 5) | static_cast<std::uint32_t>(v);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // RFC 4648 §6: 2, 4, 5 or 7 leftover characters are the only possible tails.
    if (bits >= 5) return make_error(Errc::kInvalidArgument, "base32 of impossible length");
    return out;
}

Result<std::string> totp_code(std::string_view base32_secret, std::int64_t step) {
    auto key = base32_decode(base32_secret);
    if (!key) return key.error();
    if (key->empty()) return make_error(Errc::kInvalidArgument, "empty TOTP secret");
    return internal::hotp(*key, static_cast<std::uint64_t>(step), kDigits);
}

std::int64_t totp_step(std::chrono::system_clock::time_point t) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    return secs >= 0 ? secs / kPeriod : (secs - kPeriod + 1) / kPeriod;
}

std::optional<std::int64_t> totp_match(std::string_view base32_secret, std::string_view code,
                                       std::chrono::system_clock::time_point now) {
    std::int64_t step = totp_step(now);
    std::optional<std::int64_t> found;
    // Every candidate is computed and compared in constant time, so the timing does not say
    // which step (if any) matched.
    for (std::int64_t s = step - 1; s <= step + 1; ++s) {
        auto c = totp_code(base32_secret, s);
        if (c && internal::equal_ct(*c, code) && !found) found = s;
    }
    return found;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        std::string_view base32_secret) {
    // Key URI format (google-authenticator wiki): the label's issuer prefix and the issuer
    // parameter should agree.
    return "otpauth://totp/" + uri_escape(issuer) + ":" + uri_escape(account) +
           "?secret=" + std::string(base32_secret) + "&issuer=" + uri_escape(issuer) +
           "&algorithm=SHA1&digits=6&period=30";
}

Result<std::string> qr_terminal(std::string_view text) {
    std::string s(text);
    std::unique_ptr<QRcode, QrFree> qr(
        QRcode_encodeString(s.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
    if (!qr) return make_error(Errc::kInternal, "libqrencode could not encode the text");
    int w = qr->width;
    int size = w + 2 * kQuietZone;
    auto dark = [&](int x, int y) {
        x -= kQuietZone;
        y -= kQuietZone;
        if (x < 0 || y < 0 || x >= w || y >= w) return false;
        return (qr->data[y * w + x] & 1) != 0;  // bit 0: dark module (qrencode.h)
    };
    // Terminals draw glyphs in a light colour on a dark background, so the glyphs paint the
    // light modules and the background shows through as the dark ones: scanners then see
    // dark on light. Each character covers two module rows (upper and lower half).
    std::string out;
    for (int y = 0; y < size; y += 2) {
        for (int x = 0; x < size; ++x) {
            bool top = !dark(x, y);
            bool bottom = y + 1 < size && !dark(x, y + 1);
            out += top && bottom ? "█" : top ? "▀" : bottom ? "▄" : " ";
        }
        out += '\n';
    }
    return out;
}

}  // namespace moat::admin

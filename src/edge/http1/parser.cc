#include "edge/http1/parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace moat::edge::http1 {
namespace {

// Character classes, one table lookup per byte on the hot loops.
enum : std::uint8_t {
    kToken = 1 << 0,   // tchar (RFC 9110 §5.6.2): methods, field names, list tokens
    kTarget = 1 << 1,  // bytes allowed in a request-target (see below)
    kValue = 1 << 2,   // field-vchar / SP / HTAB (RFC 9110 §5.5): a field value
    kHost = 1 << 3,    // bytes of a host name we accept (see valid_authority)
    kHex = 1 << 4,
    kDigit = 1 << 5,
};

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> t{};
    constexpr std::string_view tchar_punct = "!#$%&'*+-.^_`|~";
    for (int c = 0; c < 256; ++c) {
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        std::uint8_t f = 0;
        if (alpha || digit || (c > 0 && tchar_punct.find(static_cast<char>(c)) != tchar_punct.npos))
            f |= kToken;
        // Visible US-ASCII only (RFC 9112 §3.2 builds the target from URI characters). '#' starts
        // a fragment, which a request-target never carries (RFC 9112 §3.2).
        if (c > 0x20 && c < 0x7f && c != '#') f |= kTarget;
        // obs-text (0x80-0xFF) stays allowed in values as RFC 9110 §5.5 requires; DEL and the
        // other controls do not.
        if ((c >= 0x20 && c != 0x7f) || c == '\t') f |= kValue;
        // unreserved (RFC 3986 §2.3). DNS names and IPv4 literals need nothing else; we refuse
        // pct-encoded and sub-delims in reg-names so hosts stay safe for logs and site lookup.
        if (alpha || digit || c == '-' || c == '.' || c == '_' || c == '~') f |= kHost;
        if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) f |= kHex;
        if (digit) f |= kDigit;
        t[c] = f;
    }
    return t;
}
constexpr std::array<std::uint8_t, 256> kClass = make_classes();

constexpr std::array<char, 256> make_lower() {
    std::array<char, 256> t{};
    for (int c = 0; c < 256; ++c)
        t[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    return t;
}
constexpr std::array<char, 256> kLower = make_lower();

// A tchar folded to lower case, or 0 for any other byte: one lookup per field-name byte.
constexpr std::array<char, 256> make_token_lower() {
    std::array<char, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = (kClass[c] & kToken) ? kLower[c] : '\0';
    return t;
}
constexpr std::array<char, 256> kTokenLower = make_token_lower();

// Eight bytes per step over the two long runs (targets, field values), before the exact byte
// loop. Word tests from "Bit Twiddling Hacks" (hasless, haszero); exact as booleans, so a word is
// skipped only when every byte in it belongs to the class.
constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

inline std::uint64_t load8(const char* p) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    return x;
}
inline bool any_below(std::uint64_t x, std::uint8_t n) {  // n <= 128
    return ((x - kOnes * n) & ~x & kHighs) != 0;
}
inline bool any_equal(std::uint64_t x, std::uint8_t c) { return any_below(x ^ (kOnes * c), 1); }

// Advances i over whole words of field-value bytes (VCHAR, SP, obs-text); a word holding HTAB,
// DEL, CR or another control is left to the exact byte loop that follows.
std::size_t skip_value_words(const char* d, std::size_t i, std::size_t end) {
    while (end - i >= 8) {
        const std::uint64_t x = load8(d + i);
        if (any_below(x, 0x20) || any_equal(x, 0x7f)) break;
        i += 8;
    }
    return i;
}

// The same for request-target bytes: 0x21-0x7e except '#'.
std::size_t skip_target_words(const char* d, std::size_t i, std::size_t end) {
    while (end - i >= 8) {
        const std::uint64_t x = load8(d + i);
        if (any_below(x, 0x21) || (x & kHighs) || any_equal(x, 0x7f) || any_equal(x, '#')) break;
        i += 8;
    }
    return i;
}

inline std::uint8_t cls(char c) { return kClass[static_cast<unsigned char>(c)]; }
inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

void lower_in_place(char* s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) s[i] = kLower[static_cast<unsigned char>(s[i])];
}

// Equality with a literal; the constant length lets the compiler inline the comparison.
template <std::size_t N>
bool eq(std::string_view s, const char (&lit)[N]) {
    return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
}

// ASCII case-insensitive equality with a lower-case literal.
bool ieq(std::string_view s, std::string_view lower) {
    if (s.size() != lower.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (kLower[static_cast<unsigned char>(s[i])] != lower[i]) return false;
    return true;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

ParseResult fail(int status, const char* reason) {
    ParseResult r;
    r.status = ParseStatus::kError;
    r.error_status = status;
    r.error_reason = reason;
    r.keep_alive = false;
    return r;
}

// dec-octet "." dec-octet "." dec-octet "." dec-octet (RFC 3986 §3.2.2): no leading zeros.
bool valid_ipv4(std::string_view s) {
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        const std::size_t p0 = i;
        int v = 0;
        while (i < s.size() && i - p0 < 4 && (cls(s[i]) & kDigit)) v = v * 10 + (s[i++] - '0');
        const std::size_t n = i - p0;
        if (n == 0 || n > 3 || v > 255 || (n > 1 && s[p0] == '0')) return false;
        if (++parts == 4) return i == s.size();
        if (i == s.size() || s[i] != '.') return false;
        ++i;
    }
}

// IPv6address (RFC 3986 §3.2.2, RFC 4291 §2.2): eight h16 groups, one "::" standing for one or
// more zero groups, optionally ending in an IPv4 address. No zone id (RFC 6874 is not for HTTP).
bool valid_ipv6(std::string_view s) {
    std::size_t i = 0;
    int groups = 0;
    bool elided = false;
    if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
        elided = true;
        i = 2;
    } else if (!s.empty() && s[0] == ':') {
        return false;
    }
    while (i < s.size()) {
        const std::size_t g0 = i;
        while (i < s.size() && i - g0 < 5 && (cls(s[i]) & kHex)) ++i;
        if (i < s.size() && s[i] == '.') {  // the IPv4 tail counts as two groups
            if (!valid_ipv4(s.substr(g0))) return false;
            groups += 2;
            break;
        }
        if (i == g0 || i - g0 > 4) return false;
        ++groups;
        if (i == s.size()) break;
        if (s[i] != ':') return false;
        if (++i == s.size()) return false;  // a trailing single ':'
        if (s[i] == ':') {
            if (elided) return false;
            elided = true;
            ++i;
        }
    }
    return elided ? groups <= 7 : groups == 8;
}

// host [ ":" port ] as in Host (RFC 9110 §7.2) and in the authority of an http(s) URI (RFC 9110
// §4.2.1, RFC 3986 §3.2): reg-name, IPv4 or bracketed IPv6, never empty (an http URI must have a
// host), no userinfo (RFC 9110 §4.2.4), port 1-5 digits up to 65535 if the ':' is there.
// Lower-cases the host in place and returns it without the port; empty on error.
std::string_view valid_authority(char* s, std::size_t n) {
    std::size_t i = 0;
    if (n > 0 && s[0] == '[') {
        const char* close = static_cast<const char*>(std::memchr(s, ']', n));
        if (close == nullptr || !valid_ipv6(std::string_view(s + 1, close - s - 1))) return {};
        i = close - s + 1;
    } else {
        bool numeric = true;
        while (i < n && (cls(s[i]) & kHost)) {
            numeric = numeric && ((cls(s[i]) & kDigit) || s[i] == '.');
            ++i;
        }
        if (i == 0) return {};
        // RFC 3986 §3.2.2: what looks like an IPv4 address is one; "1.2.3" or "999.0.0.1" would
        // be read as addresses by other software, so they are errors here, not names.
        if (numeric && !valid_ipv4(std::string_view(s, i))) return {};
    }
    const std::size_t host_len = i;
    if (i < n) {
        if (s[i] != ':') return {};
        const std::size_t p0 = ++i;
        unsigned port = 0;
        while (i < n && i - p0 < 6 && (cls(s[i]) & kDigit)) port = port * 10 + (s[i++] - '0');
        if (i != n || i == p0 || i - p0 > 5 || port > 65535) return {};
    }
    lower_in_place(s, host_len);
    return {s, host_len};
}

// Per-request facts gathered from the header fields, judged at the end of the head.
struct FieldState {
    int host_fields = 0;
    std::string_view host;
    bool content_length = false;
    std::string_view content_length_digits;  // without leading zeros: "" means 0
    bool transfer_encoding = false;
    bool chunked_last = false;  // the last transfer coding seen so far is chunked
    bool conn_close = false;
    bool conn_keep_alive = false;
};

// Checks one field we interpret; returns a zero error_status when fine.
ParseResult on_field(std::string_view name, char* value, std::size_t value_len, int version,
                     FieldState& st) {
    const std::string_view v(value, value_len);
    switch (name.size()) {
        case 4:
            if (!eq(name, "host")) break;
            // RFC 9112 §3.2: 400 for a missing, repeated or invalid Host.
            if (++st.host_fields > 1) return fail(400, "duplicate Host");
            st.host = valid_authority(value, value_len);
            if (st.host.empty()) return fail(400, "invalid Host");
            break;
        case 10:
            if (!eq(name, "connection")) break;
            // RFC 9110 §7.6.1: a list of connection options; empty elements are allowed (§5.6.1).
            for (std::size_t i = 0; i <= v.size();) {
                std::size_t comma = v.find(',', i);
                if (comma == v.npos) comma = v.size();
                const std::string_view opt = trim_ows(v.substr(i, comma - i));
                i = comma + 1;
                for (char c : opt)
                    if (!(cls(c) & kToken)) return fail(400, "invalid Connection");
                if (ieq(opt, "close")) st.conn_close = true;
                if (ieq(opt, "keep-alive")) st.conn_keep_alive = true;
            }
            break;
        case 14: {
            if (!eq(name, "content-length")) break;
            // RFC 9110 §8.6: 1*DIGIT. A list ("5, 5") is refused too: we have no body to frame,
            // and refusing is what RFC 9112 §6.3 allows for anything odd about message length.
            if (v.empty()) return fail(400, "invalid Content-Length");
            for (char c : v)
                if (!(cls(c) & kDigit)) return fail(400, "invalid Content-Length");
            std::string_view digits = v.substr(std::min(v.find_first_not_of('0'), v.size()));
            if (st.content_length && digits != st.content_length_digits)
                return fail(400, "conflicting Content-Length");
            st.content_length = true;
            st.content_length_digits = digits;
            break;
        }
        case 17:
            if (!eq(name, "transfer-encoding")) break;
            // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
            if (version == 10) return fail(400, "Transfer-Encoding in HTTP/1.0");
            st.transfer_encoding = true;
            for (std::size_t i = 0; i <= v.size();) {
                std::size_t comma = v.find(',', i);
                if (comma == v.npos) comma = v.size();
                const std::string_view coding = trim_ows(v.substr(i, comma - i));
                i = comma + 1;
                if (coding.empty()) continue;
                // RFC 9112 §6.1: chunked is applied once and last; anything after it means the
                // body length cannot be known (§6.3: 400).
                if (st.chunked_last) return fail(400, "chunked is not the final transfer coding");
                if (ieq(coding, "chunked")) {
                    st.chunked_last = true;
                } else if (!ieq(coding, "gzip") && !ieq(coding, "deflate") &&
                           !ieq(coding, "compress") && !ieq(coding, "x-gzip") &&
                           !ieq(coding, "x-compress")) {
                    return fail(501, "unsupported transfer coding");  // RFC 9112 §6.1
                }
            }
            break;
        default:
            break;
    }
    return ParseResult{};
}

// Splits and checks the request-target t (RFC 9112 §3.2). Returns a zero error_status when fine.
ParseResult on_target(char* t, std::size_t n, Request& out, std::string_view& target_host) {
    // Percent-encoding must be well formed (RFC 3986 §2.1); decoding is left to the handler.
    for (const char* p = t; (p = static_cast<const char*>(std::memchr(p, '%', t + n - p)));) {
        if (t + n - p < 3 || !(cls(p[1]) & kHex) || !(cls(p[2]) & kHex))
            return fail(400, "invalid percent-encoding in request-target");
        p += 3;
    }
    std::size_t path0 = 0;
    std::size_t root = 0;  // index of a '/' byte standing for an empty path
    if (t[0] != '/') {
        // absolute-form, http or https only. authority-form (CONNECT) and asterisk-form
        // (OPTIONS *) are of no use to a static server and refused.
        std::size_t slashes;  // index of the "//" after the scheme
        if (n >= 7 && ieq(std::string_view(t, 7), "http://")) {
            slashes = 5;
        } else if (n >= 8 && ieq(std::string_view(t, 8), "https://")) {
            slashes = 6;
        } else {
            return fail(400, "unsupported request-target form");
        }
        const std::size_t a0 = slashes + 2;
        root = slashes + 1;
        std::size_t a1 = a0;
        while (a1 < n && t[a1] != '/' && t[a1] != '?') ++a1;
        target_host = valid_authority(t + a0, a1 - a0);
        if (target_host.empty()) return fail(400, "invalid authority in request-target");
        path0 = a1;
    }
    const char* q = static_cast<const char*>(std::memchr(t + path0, '?', n - path0));
    const std::size_t path1 = q ? static_cast<std::size_t>(q - t) : n;
    // "http://host" and "http://host?q" have the path "/" (RFC 9112 §3.2.1); the view then
    // points at the second slash of "://" so that it still lies inside the buffer.
    out.path =
        path1 == path0 ? std::string_view(t + root, 1) : std::string_view(t + path0, path1 - path0);
    out.query = q ? std::string_view(q + 1, t + n - q - 1) : std::string_view();
    out.target = std::string_view(t, n);
    return ParseResult{};
}

}  // namespace

ParseResult parse_request(char* data, std::size_t len, const Limits& limits, Request& out) {
    out.headers.clear();
    // Everything beyond max_header_bytes is never looked at: if the head has not ended before
    // that point it is too large, whatever follows.
    const std::size_t win = std::min(len, limits.max_header_bytes);
    // Captures by value: a reference to `win` would escape, and every store into `data` (char
    // aliases anything) would force the hot loops to reload it.
    auto more = [win, len] {
        return win < len ? fail(431, "request head too large") : ParseResult{};
    };
    const char* d = data;
    std::size_t i = 0;

    // RFC 9112 §2.2: empty lines before the request-line (left over after a body) are skipped.
    while (i < win && d[i] == '\r') {
        if (i + 1 == win) return more();
        if (d[i + 1] != '\n') return fail(400, "bare CR");
        i += 2;
    }

    // method SP (RFC 9112 §3): a token, case-sensitive (RFC 9110 §9.1).
    const std::size_t m0 = i;
    while (i < win && (cls(d[i]) & kToken)) ++i;
    if (i == win) return more();
    if (d[i] != ' ' || i == m0) return fail(400, "invalid method");
    const std::string_view method(d + m0, i - m0);
    ++i;

    // request-target SP. 414 as soon as more bytes than allowed have arrived (RFC 9112 §3).
    const std::size_t t0 = i;
    std::size_t stop = win;
    const bool capped = limits.max_target_bytes < win - t0;
    if (capped) stop = t0 + limits.max_target_bytes;
    i = skip_target_words(d, i, stop);
    while (i < stop && (cls(d[i]) & kTarget)) ++i;
    if (i == stop) {
        if (!capped) return more();
        if (cls(d[i]) & kTarget) return fail(414, "request-target too long");
    }
    if (d[i] != ' ' || i == t0) return fail(400, "invalid request-target");
    const std::size_t t1 = i;
    ++i;

    // HTTP-version CRLF: exactly "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive.
    const std::size_t v0 = i;
    while (i < win && i - v0 < 8 && d[i] > 0x20 && d[i] < 0x7f) ++i;
    if (i == win) return more();
    if (i - v0 != 8 || d[i] != '\r') return fail(400, "invalid HTTP version");
    if (i + 1 == win) return more();
    if (d[i + 1] != '\n') return fail(400, "bare CR");
    const std::string_view ver(d + v0, 8);
    if (!eq(ver.substr(0, 5), "HTTP/") || !(cls(ver[5]) & kDigit) || ver[6] != '.' ||
        !(cls(ver[7]) & kDigit))
        return fail(400, "invalid HTTP version");
    // RFC 9110 §15.6.6: we implement HTTP/1.0 and HTTP/1.1 only.
    if (!eq(ver, "HTTP/1.1") && !eq(ver, "HTTP/1.0")) return fail(505, "unsupported HTTP version");
    const int version = ver[7] == '1' ? 11 : 10;
    i += 2;

    std::string_view target_host;
    if (auto r = on_target(data + t0, t1 - t0, out, target_host); r.error_status) return r;

    // Header fields: field-name ":" OWS field-value OWS CRLF (RFC 9112 §5).
    FieldState st;
    for (;;) {
        if (i == win) return more();
        if (d[i] == '\r') {
            if (i + 1 == win) return more();
            if (d[i + 1] != '\n') return fail(400, "bare CR");
            i += 2;
            break;
        }
        // RFC 9112 §5.2: obs-fold is refused; so is whitespace before the first field (§2.2).
        if (is_ows(d[i])) return fail(400, "obs-fold or leading whitespace");
        if (out.headers.size() == limits.max_headers) return fail(431, "too many header fields");

        // Names are lower-cased as they are scanned: idempotent, so a re-parse sees the same.
        const std::size_t n0 = i;
        for (; i < win; ++i) {
            const char lower = kTokenLower[static_cast<unsigned char>(d[i])];
            if (lower == '\0') break;
            data[i] = lower;
        }
        if (i == win) return more();
        // RFC 9112 §5.1: no whitespace between name and colon (400).
        if (d[i] != ':' || i == n0) return fail(400, "invalid header field name");
        const std::string_view name(d + n0, i - n0);
        ++i;

        while (i < win && is_ows(d[i])) ++i;
        const std::size_t f0 = i;
        i = skip_value_words(d, i, win);
        while (i < win && (cls(d[i]) & kValue)) ++i;
        if (i == win) return more();
        if (d[i] != '\r') return fail(400, "invalid character in header field value");
        if (i + 1 == win) return more();
        if (d[i + 1] != '\n') return fail(400, "bare CR");
        std::size_t f1 = i;
        while (f1 > f0 && is_ows(d[f1 - 1])) --f1;
        i += 2;

        if (auto r = on_field(name, data + f0, f1 - f0, version, st); r.error_status) return r;
        out.headers.push_back(HeaderField{name, std::string_view(d + f0, f1 - f0)});
    }

    // RFC 9112 §3.2: an HTTP/1.1 request without Host gets 400.
    if (version == 11 && st.host_fields == 0) return fail(400, "missing Host");
    // RFC 9112 §6.1: both may be a smuggling attempt; we refuse rather than pick one.
    if (st.transfer_encoding && st.content_length)
        return fail(400, "both Content-Length and Transfer-Encoding");
    if (st.transfer_encoding && !st.chunked_last)
        return fail(400, "chunked is not the final transfer coding");  // RFC 9112 §6.3

    out.method_name = method;
    out.method = eq(method, "GET")    ? Method::kGet
                 : eq(method, "HEAD") ? Method::kHead
                                      : Method::kOther;
    out.version = version;
    // RFC 9112 §3.2.2: for absolute-form the target's authority wins over the Host field.
    out.host = target_host.empty() ? st.host : target_host;

    ParseResult r;
    r.status = ParseStatus::kComplete;
    r.consumed = i;
    r.has_body = st.transfer_encoding || !st.content_length_digits.empty();
    // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
    r.keep_alive = !st.conn_close && (version == 11 || st.conn_keep_alive) && !r.has_body;
    return r;
}

}  // namespace moat::edge::http1

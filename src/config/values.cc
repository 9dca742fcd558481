#include "config/values.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace moat::config {
namespace {

Error invalid(std::string detail) { return make_error(Errc::kInvalidArgument, std::move(detail)); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// inet_pton needs a NUL-terminated string; an embedded NUL must not cut the text short.
bool parses_as(int family, std::string_view text) {
    if (text.empty() || text.size() > 64 || text.find('\0') != std::string_view::npos) return false;
    std::string s(text);
    std::array<unsigned char, 16> buf{};
    return inet_pton(family, s.c_str(), buf.data()) == 1;
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    constexpr const char* kHint =
        "expected a whole number and a unit (ms, s, m, h, d), like \"10s\"";
    std::size_t i = 0;
    std::int64_t n = 0;
    while (i < text.size() && is_digit(text[i])) {
        // 3650 days in ms is about 3.2e11; 12 digits are plenty and cannot overflow int64.
        if (i >= 12) return invalid("duration is too long (at most 3650d)");
        n = n * 10 + (text[i] - '0');
        ++i;
    }
    if (i == 0) return invalid(kHint);
    std::string_view unit = text.substr(i);
    std::int64_t per_unit = 0;
    if (unit == "ms") {
        per_unit = 1;
    } else if (unit == "s") {
        per_unit = 1000;
    } else if (unit == "m") {
        per_unit = 60'000;
    } else if (unit == "h") {
        per_unit = 3'600'000;
    } else if (unit == "d") {
        per_unit = 86'400'000;
    } else {
        return invalid(kHint);
    }
    constexpr std::int64_t kMax = 3650LL * 86'400'000;
    if (n > kMax / per_unit) return invalid("duration is too long (at most 3650d)");
    return std::chrono::milliseconds(n * per_unit);
}

Result<std::uint64_t> parse_size(std::string_view text) {
    constexpr const char* kHint =
        "expected a whole number and an optional unit (B, KiB, MiB, GiB, TiB), like \"64MiB\"";
    constexpr std::uint64_t kMax = 1ull << 50;  // 1 PiB: no later sum can overflow
    std::size_t i = 0;
    std::uint64_t n = 0;
    while (i < text.size() && is_digit(text[i])) {
        if (i >= 16) return invalid("size is too large (at most 1PiB)");
        n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
        ++i;
    }
    if (i == 0) return invalid(kHint);
    const std::string_view unit = text.substr(i);
    int shift = 0;
    if (unit.empty() || unit == "B") {
        shift = 0;
    } else if (unit == "KiB") {
        shift = 10;
    } else if (unit == "MiB") {
        shift = 20;
    } else if (unit == "GiB") {
        shift = 30;
    } else if (unit == "TiB") {
        shift = 40;
    } else {
        return invalid(kHint);
    }
    if (n > (kMax >> shift)) return invalid("size is too large (at most 1PiB)");
    return n << shift;
}

bool ListenAddress::is_loopback() const {
    if (ipv6) return address == "::1" || address == "0:0:0:0:0:0:0:1";
    return address.rfind("127.", 0) == 0;
}

Result<ListenAddress> parse_listen(std::string_view text) {
    ListenAddress out;
    std::string_view addr;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return invalid("missing ']' after the IPv6 address");
        addr = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':')
            return invalid("expected \":port\" after \"[address]\"");
        port = text.substr(close + 2);
        if (!parses_as(AF_INET6, addr)) return invalid("not an IPv6 address");
        out.ipv6 = true;
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return invalid("expected \"address:port\"");
        addr = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (addr.find(':') != std::string_view::npos)
            return invalid("an IPv6 address needs brackets, like \"[::]:443\"");
        if (!parses_as(AF_INET, addr))
            return invalid("not an IPv4 address (names are not allowed)");
    }
    if (port.empty() || port.size() > 5) return invalid("port must be a number from 1 to 65535");
    unsigned value = 0;
    for (char c : port) {
        if (!is_digit(c)) return invalid("port must be a number from 1 to 65535");
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value < 1 || value > 65535) return invalid("port must be a number from 1 to 65535");
    out.address = std::string(addr);
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

bool is_ip_literal(std::string_view text) {
    return parses_as(AF_INET, text) || parses_as(AF_INET6, text);
}

Result<std::string> normalize_host(std::string_view text) {
    if (text.empty()) return invalid("host is empty");
    std::string host(text);
    for (char& c : host) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    // IPv6 literals are kept in brackets, the form Host headers carry (RFC 3986 §3.2.2), and
    // canonicalised so "[0::1]" and "::1" are the same host.
    std::string_view bare = host;
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
        bare = bare.substr(1, bare.size() - 2);
    if (parses_as(AF_INET6, bare)) {
        unsigned char buf[16];
        char out[INET6_ADDRSTRLEN];
        std::string z(bare);
        if (inet_pton(AF_INET6, z.c_str(), buf) == 1 && inet_ntop(AF_INET6, buf, out, sizeof out))
            return "[" + std::string(out) + "]";
    }
    if (is_ip_literal(host)) return host;
    if (host.size() > 253) return invalid("host is longer than 253 characters");
    if (host.back() == '.') return invalid("host must not end with '.'");
    std::size_t labels = 0;
    std::size_t start = 0;
    std::string_view last;
    while (start <= host.size()) {
        auto dot = host.find('.', start);
        if (dot == std::string::npos) dot = host.size();
        std::string_view label(host.data() + start, dot - start);
        if (label.empty()) return invalid("host has an empty label");
        if (label.size() > 63) return invalid("a host label is longer than 63 characters");
        for (char c : label) {
            if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-'))
                return invalid("host may contain only letters, digits, '-' and '.'");
        }
        if (label.front() == '-' || label.back() == '-')
            return invalid("a host label must not start or end with '-'");
        ++labels;
        last = label;
        start = dot + 1;
    }
    if (labels < 2 && host != "localhost")
        return invalid("host needs at least two labels (or must be \"localhost\")");
    // RFC 3696 §2: a top-level domain is never all-numeric; "1.2.3.999" is a typo, not a name.
    bool numeric = true;
    for (char c : last) numeric = numeric && is_digit(c);
    if (numeric)
        return invalid("host is neither an IP address nor a DNS name (numeric last label)");
    return host;
}

bool is_http_token(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
                  std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
        if (!ok || c == '\0') return false;
    }
    return true;
}

}  // namespace moat::config

#include "tls/internal/names.h"

#include <arpa/inet.h>

#include <cstring>

namespace moat::tls::internal {

std::optional<std::string> canonical_ip(std::string_view s) {
    // Hosts name IPv6 literals in brackets ("[::1]", RFC 3986 §3.2.2); certificates do not.
    if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
    if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    std::string z(s);  // inet_pton needs a terminated string
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET, z.c_str(), buf) == 1) {
        if (!inet_ntop(AF_INET, buf, out, sizeof out)) return std::nullopt;
        return std::string(out);
    }
    if (inet_pton(AF_INET6, z.c_str(), buf) == 1) {
        if (!inet_ntop(AF_INET6, buf, out, sizeof out)) return std::nullopt;
        return std::string(out);
    }
    return std::nullopt;
}

std::string normalize_host(std::string_view s) {
    if (!s.empty() && s.back() == '.') s.remove_suffix(1);
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

namespace {

bool valid_label(std::string_view label) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

bool is_valid_dns_name(std::string_view s, bool allow_wildcard) {
    if (s.empty() || s.size() > 253) return false;
    int labels = 0;
    bool wildcard = false;
    if (allow_wildcard && s.substr(0, 2) == "*.") {
        wildcard = true;
        s.remove_prefix(2);
    }
    for (;;) {
        std::size_t dot = s.find('.');
        if (!valid_label(s.substr(0, dot))) return false;
        ++labels;
        if (dot == std::string_view::npos) break;
        s.remove_prefix(dot + 1);
    }
    return !wildcard || labels >= 2;
}

bool name_matches(std::string_view pattern, std::string_view host) {
    if (pattern == host) return true;
    if (pattern.substr(0, 2) != "*.") return false;
    if (canonical_ip(host)) return false;  // RFC 6125 §6.4.3 wildcards are for DNS names only
    std::size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    return host.substr(dot + 1) == pattern.substr(2);
}

std::optional<std::string> canonical_name(std::string_view s) {
    if (auto ip = canonical_ip(s)) return ip;
    std::string n = normalize_host(s);
    if (!is_valid_dns_name(n, true)) return std::nullopt;
    return n;
}

}  // namespace moat::tls::internal

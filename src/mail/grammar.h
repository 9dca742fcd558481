#pragma once
// The RFC 8461 / RFC 8460 grammar rules that both the config loader and the mail part need.
// Header-only on purpose: config/ (and its fuzz target, which compiles config/*.cc + core only)
// validates [mail."<domain>"] with these functions without linking the mail library.

#include <cstdint>
#include <string>
#include <string_view>

#include "mail/settings.h"

namespace moat::mail::grammar {

// RFC 8461 §3.2: max_age is 1*10 DIGIT and at most 31557600 (one year).
inline constexpr std::int64_t kMaxMaxAge = 31557600;
// RFC 8461 §3.1: sts-id = 1*32(ALPHA / DIGIT).
inline constexpr std::size_t kMaxIdLength = 32;

inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

inline const char* mode_name(StsMode m) {
    switch (m) {
        case StsMode::kEnforce:
            return "enforce";
        case StsMode::kTesting:
            return "testing";
        case StsMode::kNone:
            return "none";
    }
    return "none";
}

// RFC 8461 §3.1 sts-id.
inline bool valid_sts_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxIdLength) return false;
    for (char c : id)
        if (!is_alnum(c)) return false;
    return true;
}

// RFC 5321 §4.1.2 Domain as used by RFC 8461 §3.2: dot-separated LDH labels (letters, digits,
// inner hyphens), each 1-63 octets, 253 in all, A-labels only (RFC 8461 §3.2: IDNs as
// punycode). No trailing dot, no port, no IP literal. Returns "" or the reason it is not one.
inline std::string domain_error(std::string_view d) {
    if (d.empty()) return "is empty";
    if (d.size() > 253) return "is longer than 253 characters";
    if (d.back() == '.') return "has a trailing dot (not in the RFC 5321 Domain grammar)";
    std::size_t labels = 0, start = 0;
    bool all_numeric = true;
    while (start <= d.size()) {
        std::size_t end = d.find('.', start);
        if (end == std::string_view::npos) end = d.size();
        std::string_view label = d.substr(start, end - start);
        if (label.empty()) return "has an empty label";
        if (label.size() > 63) return "has a label longer than 63 characters";
        for (char c : label) {
            if (static_cast<unsigned char>(c) >= 0x80)
                return "is not ASCII: write internationalized names as A-labels (xn--...)";
            if (!is_alnum(c) && c != '-')
                return std::string("has the character '") + c +
                       "' (labels are letters, digits and '-')";
        }
        if (label.front() == '-' || label.back() == '-')
            return "has a label that starts or ends with '-'";
        bool numeric = true;
        for (char c : label) numeric = numeric && is_digit(c);
        all_numeric = all_numeric && numeric;
        ++labels;
        start = end + 1;
    }
    if (labels < 2) return "needs at least two labels";
    if (all_numeric) return "looks like an IP address, not a host name";
    return "";
}

// RFC 8461 §3.2: sts-policy-mx-value = ["*."] Domain. "" or the reason.
inline std::string mx_pattern_error(std::string_view p) {
    std::string_view rest = p;
    if (rest.substr(0, 2) == "*.") rest.remove_prefix(2);
    if (rest.find('*') != std::string_view::npos)
        return "a wildcard is allowed only as the whole left-most label (\"*.example.com\")";
    if (rest.find(':') != std::string_view::npos) return "must not carry a port";
    if (rest.find_first_of(", ") != std::string_view::npos)
        return "holds one pattern only (give a list of patterns)";
    std::string why = domain_error(rest);
    return why.empty() ? "" : "is not a valid host name: it " + why;
}

inline std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// RFC 8461 §4.1: does the MX host match the pattern? Case-insensitive; a trailing dot on the
// host is ignored; "*." matches exactly one whole left-most label (RFC 6125 §6.4.3).
inline bool mx_matches(std::string_view pattern, std::string_view host) {
    std::string p = to_lower(pattern), h = to_lower(host);
    if (!h.empty() && h.back() == '.') h.pop_back();
    if (!p.empty() && p.back() == '.') p.pop_back();
    if (p.rfind("*.", 0) != 0) return p == h;
    std::string_view suffix = std::string_view(p).substr(1);  // ".example.com"
    if (h.size() <= suffix.size()) return false;
    if (h.compare(h.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
    std::string_view first = std::string_view(h).substr(0, h.size() - suffix.size());
    return !first.empty() && first.find('.') == std::string_view::npos;
}

// The policy file moat serves (RFC 8461 §3.2): fixed key order, LF after every line (one
// terminator at the end, never a blank line), no BOM. The id is derived from these bytes.
inline std::string render_policy(const MailDomain& d) {
    std::string out = "version: STSv1\nmode: ";
    out += mode_name(d.mode);
    out += '\n';
    for (const auto& m : d.mx) out += "mx: " + m + "\n";
    out += "max_age: " + std::to_string(d.max_age) + "\n";
    return out;
}

// RFC 8460 §3: a rua URI is mailto: or https:, and ',', '!' and ';' inside it must be
// percent-encoded. "" or the reason.
inline std::string rua_error(std::string_view uri) {
    bool mailto = uri.rfind("mailto:", 0) == 0, https = uri.rfind("https://", 0) == 0;
    if (!mailto && !https) return "must start with mailto: or https://";
    for (char c : uri) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return "must be ASCII without spaces or control characters";
        if (c == ',' || c == '!' || c == ';')
            return std::string("must percent-encode '") + c + "' (RFC 8460 §3)";
    }
    if (mailto) {
        std::string_view addr = uri.substr(7);
        auto at = addr.find('@');
        if (at == std::string_view::npos || at == 0 || at + 1 >= addr.size())
            return "mailto: needs an address local@domain";
    } else if (uri.size() <= 8 || uri[8] == '/') {
        return "https:// needs a host";
    }
    return "";
}

// The TXT values moat asks the owner to publish.
inline std::string sts_txt(std::string_view id) { return "v=STSv1; id=" + std::string(id); }
inline std::string tlsrpt_txt(const MailDomain& d) {
    std::string out = "v=TLSRPTv1; rua=";
    for (std::size_t i = 0; i < d.tlsrpt_rua.size(); ++i) {
        if (i) out += ",";
        out += d.tlsrpt_rua[i];
    }
    return out;
}

}  // namespace moat::mail::grammar

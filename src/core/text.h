#pragma once
// ASCII text helpers for the parsers of protocol text (HTTP fields, S3 headers, DNS names,
// policy files). Locale-independent on purpose: std::tolower follows the C locale, and protocol
// names are case-insensitive only over ASCII (RFC 9110 §5.1, RFC 4343 §3).

#include <string>
#include <string_view>

namespace moat::core {

inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

// A copy with A-Z folded to a-z; every other byte as it is.
inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Without optional whitespace (RFC 9110 §5.6.3: SP and HTAB) at either end.
inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace moat::core

#pragma once
// Host-name and IP-literal normalisation shared by CertKey, CertTable and InternalCa.

#include <optional>
#include <string>
#include <string_view>

namespace moat::tls::internal {

// The canonical text of an IPv4 or IPv6 literal ("0:0::1" -> "::1"), or nullopt if `s` is
// not one. Brackets are not accepted: callers strip them from URL authorities first.
std::optional<std::string> canonical_ip(std::string_view s);

// Lower-cases ASCII and drops one trailing dot: DNS names compare case-insensitively
// (RFC 4343) and "example.com." names the same host as "example.com".
std::string normalize_host(std::string_view s);

// True for an LDH host name (RFC 1123 §2.1) of at most 253 octets; with `allow_wildcard`,
// also "*.rest" where rest has at least two labels (RFC 6125 §6.4.3, no "*.com").
bool is_valid_dns_name(std::string_view s, bool allow_wildcard);

// RFC 6125 §6.4.3: "*.example.com" matches exactly one extra label: "a.example.com", not
// "example.com" nor "a.b.example.com". Both arguments must be normalized. Exact names match
// themselves; IP literals only match the same literal.
bool name_matches(std::string_view pattern, std::string_view host);

// Canonical form of a configured name: an IP literal's canonical text, otherwise the
// normalized DNS name (possibly a wildcard); nullopt if it is neither.
std::optional<std::string> canonical_name(std::string_view s);

}  // namespace moat::tls::internal

#pragma once
// Strict-Transport-Security parsing (RFC 6797 §6.1) and HSTS preload-list readiness
// (hstspreload.org submission rules, reference/tls.md §2.3). Pure functions; no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace moat::audit {

struct Hsts {
    bool valid = false;         // RFC 6797 §6.1: exactly one max-age, no repeated directive
    std::int64_t max_age = -1;  // seconds; -1 when absent or invalid
    bool include_subdomains = false;
    bool preload = false;
    std::string error;  // why it is invalid
};

// Parses one header value. Directive names are case-insensitive; max-age may be quoted
// (RFC 6797 §6.1.1); unknown directives are ignored (§6.1 "UAs MUST ignore").
Hsts parse_hsts(std::string_view value);

// What hstspreload.org would say about the apex, given its HSTS header (nullopt = none sent)
// and, when known, whether http://host/ redirects to https://host/ first (nullopt = not known,
// e.g. offline). Empty = ready. Each entry is one unmet rule.
std::vector<std::string> preload_problems(const std::optional<Hsts>& hsts,
                                          std::optional<bool> http_redirects_to_https);

}  // namespace moat::audit

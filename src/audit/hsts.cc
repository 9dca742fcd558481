#include "audit/hsts.h"

#include <charconv>

#include "core/text.h"

namespace moat::audit {

Hsts parse_hsts(std::string_view value) {
    Hsts h;
    bool seen_max_age = false, seen_sub = false, seen_preload = false;
    std::size_t start = 0;
    while (start <= value.size()) {
        std::size_t semi = value.find(';', start);
        if (semi == std::string_view::npos) semi = value.size();
        std::string_view d = core::trim_ows(value.substr(start, semi - start));
        start = semi + 1;
        if (d.empty()) continue;
        std::size_t eq = d.find('=');
        std::string name = core::ascii_lower(core::trim_ows(d.substr(0, eq)));
        std::string_view arg = eq == std::string_view::npos ? "" : core::trim_ows(d.substr(eq + 1));
        if (name == "max-age") {
            if (seen_max_age) {
                h.error = "max-age given twice (RFC 6797 §6.1)";
                return h;
            }
            seen_max_age = true;
            if (arg.size() >= 2 && arg.front() == '"' && arg.back() == '"')
                arg = arg.substr(1, arg.size() - 2);
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
            if (arg.empty() || ec != std::errc() || p != arg.data() + arg.size() || v < 0) {
                h.error = "max-age is not a number of seconds";
                return h;
            }
            h.max_age = v;
        } else if (name == "includesubdomains") {
            if (seen_sub) {
                h.error = "includeSubDomains given twice (RFC 6797 §6.1)";
                return h;
            }
            seen_sub = h.include_subdomains = true;
        } else if (name == "preload") {
            if (seen_preload) {
                h.error = "preload given twice";
                return h;
            }
            seen_preload = h.preload = true;
        }
    }
    if (!seen_max_age) {
        h.error = "no max-age (RFC 6797 §6.1.1 requires it)";
        h.max_age = -1;
        return h;
    }
    h.valid = true;
    return h;
}

std::vector<std::string> preload_problems(const std::optional<Hsts>& hsts,
                                          std::optional<bool> http_redirects_to_https) {
    std::vector<std::string> out;
    if (!hsts) {
        out.emplace_back("no Strict-Transport-Security header");
    } else if (!hsts->valid) {
        out.push_back("invalid Strict-Transport-Security: " + hsts->error);
    } else {
        if (hsts->max_age < 31536000) out.emplace_back("max-age below 31536000 (one year)");
        if (!hsts->include_subdomains) out.emplace_back("no includeSubDomains");
        if (!hsts->preload) out.emplace_back("no preload directive");
    }
    if (http_redirects_to_https && !*http_redirects_to_https)
        out.emplace_back("http://host/ does not redirect to https://host/ first");
    return out;
}

}  // namespace moat::audit

#include "site/cache_rules.h"

namespace moat::site {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// The last extension of the last segment, without its dot; empty when none. A leading dot
// alone (".profile") is a hidden name, not an extension.
std::string_view extension_of(std::string_view path) {
    const std::size_t slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const std::size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return {};
    return name.substr(dot + 1);
}

}  // namespace

bool glob_match(std::string_view pat, std::string_view s) {
    // Backtracking matcher; patterns come from the config and hold a few stars, paths are
    // bounded by normalize_path, so the worst case stays small.
    std::size_t p = 0, i = 0;
    while (p < pat.size()) {
        if (pat[p] == '*') {
            const bool any = p + 1 < pat.size() && pat[p + 1] == '*';
            const std::string_view rest = pat.substr(p + (any ? 2 : 1));
            for (std::size_t j = i;; ++j) {
                if (glob_match(rest, s.substr(j))) return true;
                if (j == s.size() || (!any && s[j] == '/')) return false;
            }
        }
        if (i == s.size() || pat[p] != s[i]) return false;
        ++p;
        ++i;
    }
    return i == s.size();
}

std::string_view match_cache_control(const std::vector<CacheRule>& rules,
                                     std::string_view default_value, std::string_view path) {
    const std::string_view ext = extension_of(path);
    for (const auto& r : rules) {
        if (!r.prefix.empty()) {
            if (path.starts_with(r.prefix)) return r.cache_control;
        } else if (!r.glob.empty()) {
            if (glob_match(r.glob, path)) return r.cache_control;
        } else if (!r.extension.empty()) {
            std::string_view want = r.extension;
            if (want.starts_with('.')) want.remove_prefix(1);
            if (!ext.empty() && iequals(ext, want)) return r.cache_control;
        }
    }
    return default_value;
}

}  // namespace moat::site

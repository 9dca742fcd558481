#pragma once
// Cache-Control by path: a site's ordered rules (prefix, glob or extension), first match wins.

#include <string_view>
#include <vector>

#include "site/settings.h"

namespace moat::site {

// The Cache-Control value for `path` (decoded, with its leading '/': "/img/a.png"): the first
// rule that matches, else default_value. A prefix rule matches when path starts with it; a glob
// rule when the whole path matches it (glob_match); an extension rule when the last segment's
// last extension equals it, ASCII case-insensitively ("JPG" and ".jpg" match "a.jpg").
// The view points into `rules` or `default_value`: it lives as long as they do.
std::string_view match_cache_control(const std::vector<CacheRule>& rules,
                                     std::string_view default_value, std::string_view path);

// Whole-string glob: '*' matches any run of characters except '/', '**' any run including
// '/'; every other character matches itself.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace moat::site

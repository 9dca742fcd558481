#pragma once
// Set-Cookie attributes that matter for security (RFC 6265 §5.2, RFC 6265bis SameSite and
// cookie prefixes). Pure functions; no I/O.

#include <string>
#include <string_view>
#include <vector>

namespace moat::audit {

struct Cookie {
    std::string name;
    bool secure = false;
    bool http_only = false;
    std::string same_site;  // "strict", "lax", "none", "" (absent), or the invalid value given
    bool same_site_valid = true;
    bool session_like = false;          // the name looks like a session/login token
    std::vector<std::string> problems;  // each missing flag or broken rule, readable
};

// Parses one Set-Cookie value. `https`: whether it arrived over HTTPS (Secure is expected).
Cookie parse_cookie(std::string_view set_cookie, bool https);

}  // namespace moat::audit

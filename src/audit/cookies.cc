#include "audit/cookies.h"

#include "core/text.h"

namespace moat::audit {

Cookie parse_cookie(std::string_view v, bool https) {
    Cookie c;
    std::size_t semi = v.find(';');
    std::string_view pair = core::trim_ows(v.substr(0, semi));
    c.name = std::string(core::trim_ows(pair.substr(0, pair.find('='))));
    bool has_path_root = false, has_domain = false;
    while (semi != std::string_view::npos) {
        std::size_t next = v.find(';', semi + 1);
        std::string_view attr = core::trim_ows(v.substr(semi + 1, next - semi - 1));
        semi = next;
        std::size_t eq = attr.find('=');
        std::string name = core::ascii_lower(core::trim_ows(attr.substr(0, eq)));
        std::string value =
            eq == std::string_view::npos ? "" : std::string(core::trim_ows(attr.substr(eq + 1)));
        if (name == "secure") c.secure = true;
        if (name == "httponly") c.http_only = true;
        if (name == "samesite") c.same_site = core::ascii_lower(value);
        if (name == "path" && value == "/") has_path_root = true;
        if (name == "domain") has_domain = true;
    }
    // The Observatory's heuristic for "session cookie": a name that says so.
    std::string ln = core::ascii_lower(c.name);
    for (auto word : {"sess", "sid", "login", "auth", "token", "jwt"})
        if (ln.find(word) != std::string::npos) c.session_like = true;

    if (https && !c.secure) c.problems.emplace_back("no Secure flag");
    if (c.session_like && !c.http_only)
        c.problems.emplace_back("session cookie without HttpOnly (readable by scripts)");
    if (c.same_site.empty()) {
        c.problems.emplace_back("no SameSite attribute");
    } else if (c.same_site != "strict" && c.same_site != "lax" && c.same_site != "none") {
        c.same_site_valid = false;
        c.problems.push_back("invalid SameSite value '" + c.same_site + "'");
    } else if (c.same_site == "none" && !c.secure) {
        // RFC 6265bis §5.4.7: browsers reject SameSite=None without Secure.
        c.problems.emplace_back("SameSite=None without Secure is rejected by browsers");
    }
    // RFC 6265bis §4.1.3: cookie name prefixes.
    if (c.name.rfind("__Secure-", 0) == 0 && !c.secure)
        c.problems.emplace_back("__Secure- prefix without Secure");
    if (c.name.rfind("__Host-", 0) == 0 && (!c.secure || has_domain || !has_path_root))
        c.problems.emplace_back("__Host- prefix needs Secure, Path=/ and no Domain");
    return c;
}

}  // namespace moat::audit

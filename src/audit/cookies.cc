#include "audit/cookies.h"

namespace moat::audit {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

Cookie parse_cookie(std::string_view v, bool https) {
    Cookie c;
    std::size_t semi = v.find(';');
    std::string_view pair = trim(v.substr(0, semi));
    c.name = std::string(trim(pair.substr(0, pair.find('='))));
    bool has_path_root = false, has_domain = false;
    while (semi != std::string_view::npos) {
        std::size_t next = v.find(';', semi + 1);
        std::string_view attr = trim(v.substr(semi + 1, next - semi - 1));
        semi = next;
        std::size_t eq = attr.find('=');
        std::string name = lower(trim(attr.substr(0, eq)));
        std::string value =
            eq == std::string_view::npos ? "" : std::string(trim(attr.substr(eq + 1)));
        if (name == "secure") c.secure = true;
        if (name == "httponly") c.http_only = true;
        if (name == "samesite") c.same_site = lower(value);
        if (name == "path" && value == "/") has_path_root = true;
        if (name == "domain") has_domain = true;
    }
    // The Observatory's heuristic for "session cookie": a name that says so.
    std::string ln = lower(c.name);
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

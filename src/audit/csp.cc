#include "audit/csp.h"

#include <algorithm>
#include <array>

#include "core/text.h"

namespace moat::audit {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

bool has(const std::vector<std::string>* v, std::string_view s) {
    return v && std::find(v->begin(), v->end(), s) != v->end();
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A nonce or hash source (CSP3 §2.3.1): 'nonce-...', 'sha256-...', 'sha384-...', 'sha512-...'.
bool is_nonce_or_hash(std::string_view s) {
    std::string l = core::ascii_lower(s);
    return starts_with(l, "'nonce-") || starts_with(l, "'sha256-") || starts_with(l, "'sha384-") ||
           starts_with(l, "'sha512-");
}

bool any_nonce_or_hash(const std::vector<std::string>* v) {
    return v &&
           std::any_of(v->begin(), v->end(), [](const auto& s) { return is_nonce_or_hash(s); });
}

bool is_broad(std::string_view s) { return s == "*" || s == "https:" || s == "http:"; }

bool is_insecure(std::string_view s) { return s == "http:" || starts_with(s, "http://"); }

// Directives that fall back to default-src (CSP3 §6.8.3 "default-src" fallback list).
constexpr std::array<std::string_view, 14> kFallsBack{
    "script-src",     "script-src-elem", "script-src-attr", "style-src",   "style-src-elem",
    "style-src-attr", "img-src",         "media-src",       "font-src",    "connect-src",
    "object-src",     "frame-src",       "worker-src",      "manifest-src"};

}  // namespace

const std::vector<std::string>* CspPolicy::effective(const std::string& name) const {
    if (auto it = directives.find(name); it != directives.end()) return &it->second;
    if (std::find(kFallsBack.begin(), kFallsBack.end(), name) == kFallsBack.end()) return nullptr;
    if (auto it = directives.find("default-src"); it != directives.end()) return &it->second;
    return nullptr;
}

CspPolicy parse_csp(std::string_view header) {
    CspPolicy p;
    std::size_t start = 0;
    while (start <= header.size()) {
        std::size_t semi = header.find(';', start);
        if (semi == std::string_view::npos) semi = header.size();
        std::string_view d = header.substr(start, semi - start);
        start = semi + 1;
        std::vector<std::string> tokens;
        std::size_t i = 0;
        while (i < d.size()) {
            while (i < d.size() && is_space(d[i])) ++i;
            std::size_t j = i;
            while (j < d.size() && !is_space(d[j])) ++j;
            if (j > i) tokens.emplace_back(d.substr(i, j - i));
            i = j;
        }
        if (tokens.empty()) continue;
        std::string name = core::ascii_lower(tokens[0]);
        if (p.directives.count(name)) {
            p.duplicates.push_back(name);
            continue;
        }
        std::vector<std::string> sources;
        for (std::size_t k = 1; k < tokens.size(); ++k) {
            const std::string& t = tokens[k];
            // Keywords ('self'), schemes (https:) and '*' compare case-insensitively; hosts do
            // too (RFC 3986 §3.2.2). Nonces and hashes keep their case (base64).
            sources.push_back(is_nonce_or_hash(t) ? t : core::ascii_lower(t));
        }
        p.directives.emplace(std::move(name), std::move(sources));
    }
    return p;
}

CspFindings analyze_csp(const CspPolicy& p) {
    CspFindings f;
    f.duplicates = p.duplicates;
    if (p.empty()) {
        f.valid = false;
        return f;
    }
    const auto* script = p.effective("script-src");
    const auto* object = p.effective("object-src");
    const auto* style = p.effective("style-src");
    const bool script_nonce = any_nonce_or_hash(script);
    // CSP3 §8.3: a nonce or hash makes browsers ignore 'unsafe-inline'.
    f.unsafe_inline_script = has(script, "'unsafe-inline'") && !script_nonce;
    f.unsafe_eval = has(script, "'unsafe-eval'");
    f.data_in_script = has(script, "data:");
    f.script_unrestricted = script == nullptr;
    f.object_unrestricted = object == nullptr;
    if (has(script, "'strict-dynamic'") && !script_nonce) f.valid = false;
    if (script)
        for (const auto& s : *script) f.broad_script = f.broad_script || is_broad(s);
    if (object)
        for (const auto& s : *object) f.broad_object = f.broad_object || is_broad(s);
    f.unsafe_inline_style = has(style, "'unsafe-inline'") && !any_nonce_or_hash(style);

    static constexpr std::array<std::string_view, 6> kActive{
        "script-src", "style-src", "object-src", "frame-src", "connect-src", "worker-src"};
    for (auto name : kActive) {
        const auto* v = p.effective(std::string(name));
        if (v && std::any_of(v->begin(), v->end(), [](const auto& s) { return is_insecure(s); }))
            f.insecure_active = true;
    }
    for (auto name : {"img-src", "media-src"}) {
        const auto* v = p.effective(name);
        if (v && std::any_of(v->begin(), v->end(), [](const auto& s) { return is_insecure(s); }))
            f.insecure_passive = true;
    }
    const auto* def = p.has("default-src") ? &p.directives.at("default-src") : nullptr;
    f.default_none = def && def->size() == 1 && (*def)[0] == "'none'";
    f.frame_ancestors = p.has("frame-ancestors");
    f.base_uri = p.has("base-uri");
    f.form_action = p.has("form-action");
    if (f.form_action) {
        const auto& fa = p.directives.at("form-action");
        f.form_action_restricted =
            !fa.empty() && std::all_of(fa.begin(), fa.end(), [](const auto& s) {
                return s == "'none'" || s == "'self'";
            });
    }
    // Removed from CSP Level 3 (prefetch-src, plugin-types, referrer, reflected-xss) or
    // replaced (block-all-mixed-content by upgrade-insecure-requests).
    for (auto name : {"prefetch-src", "plugin-types", "referrer", "reflected-xss",
                      "block-all-mixed-content", "navigate-to"})
        if (p.has(name)) f.deprecated.emplace_back(name);
    return f;
}

std::vector<std::string> CspFindings::warnings() const {
    std::vector<std::string> w;
    if (!valid)
        w.emplace_back(
            "policy is invalid ('strict-dynamic' without a nonce or hash, or no directives)");
    if (unsafe_inline_script)
        w.emplace_back("'unsafe-inline' in script sources lets injected inline scripts run");
    if (unsafe_eval) w.emplace_back("'unsafe-eval' in script sources lets strings run as code");
    if (data_in_script) w.emplace_back("data: in script sources allows scripts from data URLs");
    if (broad_script) w.emplace_back("script sources allow any origin (*, https: or http:)");
    if (script_unrestricted)
        w.emplace_back("no script-src or default-src: scripts are unrestricted");
    if (broad_object) w.emplace_back("object sources allow any origin (*, https: or http:)");
    if (object_unrestricted)
        w.emplace_back("no object-src or default-src: plugins are unrestricted");
    if (insecure_active) w.emplace_back("http: sources for active content (mixed content)");
    if (insecure_passive) w.emplace_back("http: sources for images or media");
    if (unsafe_inline_style) w.emplace_back("'unsafe-inline' in style sources");
    if (!frame_ancestors)
        w.emplace_back("no frame-ancestors: the page can be framed (clickjacking)");
    if (!base_uri) w.emplace_back("no base-uri: an injected <base> can redirect relative URLs");
    if (!form_action) w.emplace_back("no form-action: forms may post anywhere");
    for (const auto& d : deprecated) w.push_back(d + " is deprecated and ignored by browsers");
    for (const auto& d : duplicates) w.push_back(d + " appears twice; only the first counts");
    return w;
}

}  // namespace moat::audit

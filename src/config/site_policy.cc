// [sites."<host>".headers] and [[sites."<host>".cache]]: the response header policy and the
// Cache-Control rules, with the warnings a header scanner (securityheaders.com) would give.
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "config/internal/reader.h"
#include "config/values.h"
#include "core/text.h"

namespace moat::config::internal {
namespace {

// RFC 9110 §5.5: a field value has no CR, LF or NUL; other controls except HTAB are refused too.
bool valid_header_value(std::string_view v) {
    return std::none_of(v.begin(), v.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

// The headers the policy sends by default, with the key that sets each.
struct DefaultHeader {
    std::string_view name;
    std::string_view key;
};
constexpr std::array<DefaultHeader, 8> kDefaultHeaders{{
    {"Strict-Transport-Security", "hsts_max_age"},
    {"Content-Security-Policy", "content_security_policy"},
    {"X-Content-Type-Options", "x_content_type_options"},
    {"X-Frame-Options", "x_frame_options"},
    {"Referrer-Policy", "referrer_policy"},
    {"Permissions-Policy", "permissions_policy"},
    {"Cross-Origin-Opener-Policy", "cross_origin_opener_policy"},
    {"Cross-Origin-Resource-Policy", "cross_origin_resource_policy"},
}};

// Headers the server itself owns: hop-by-hop (RFC 9110 §7.6.1), framing, validators and dates.
// Adding them would corrupt responses or contradict what the edge computes.
constexpr std::array<std::string_view, 16> kForbiddenAdd{
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "content-range",
    "content-encoding",
    "date",
    "etag",
    "last-modified",
    "host",
    "location",
    "vary",
};

// Deprecated or removed by browsers; sending them only adds noise (or, for HPKP, risk).
constexpr std::array<std::string_view, 5> kDeprecated{
    "expect-ct",
    "x-xss-protection",
    "feature-policy",
    "public-key-pins",
    "public-key-pins-report-only",
};

// Splits a CSP into directives and returns the warnings a scanner would give.
std::vector<std::string> csp_warnings(std::string_view csp) {
    std::vector<std::string> out;
    bool frame_ancestors = false;
    bool unsafe_inline = false;
    bool unsafe_eval = false;
    std::size_t start = 0;
    while (start <= csp.size()) {
        auto semi = csp.find(';', start);
        if (semi == std::string_view::npos) semi = csp.size();
        std::string_view directive = csp.substr(start, semi - start);
        start = semi + 1;
        std::vector<std::string> tokens;
        std::size_t i = 0;
        while (i < directive.size()) {
            while (i < directive.size() && (directive[i] == ' ' || directive[i] == '\t')) ++i;
            std::size_t j = i;
            while (j < directive.size() && directive[j] != ' ' && directive[j] != '\t') ++j;
            if (j > i) tokens.push_back(core::ascii_lower(directive.substr(i, j - i)));
            i = j;
        }
        if (tokens.empty()) continue;
        const std::string& name = tokens[0];
        if (name == "frame-ancestors") frame_ancestors = true;
        for (std::size_t k = 1; k < tokens.size(); ++k) {
            if (tokens[k] == "'unsafe-inline'") unsafe_inline = true;
            if (tokens[k] == "'unsafe-eval'") unsafe_eval = true;
            if ((name == "script-src" || name == "default-src") &&
                (tokens[k] == "*" || tokens[k] == "https:" || tokens[k] == "http:")) {
                out.push_back(
                    fmt::format("{} allows scripts from any origin ('{}')", name, tokens[k]));
            }
        }
    }
    if (unsafe_inline) out.push_back("'unsafe-inline' lets injected inline code run");
    if (unsafe_eval) out.push_back("'unsafe-eval' lets strings run as code");
    if (!frame_ancestors)
        out.push_back("no frame-ancestors: the site can be framed (clickjacking)");
    return out;
}

void read_add(TableReader& h, site::HeaderPolicy& policy) {
    const toml::table* t = h.read_table("add");
    if (!t) return;
    TableReader r(h.sink(), *t, h.key_path("add"));
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [k, v] : *t) entries.emplace_back(&k, &v);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto& x = a.first->source().begin;
        const auto& y = b.first->source().begin;
        return x.line != y.line ? x.line < y.line : x.column < y.column;
    });
    std::vector<std::pair<std::string, std::string>> added;
    for (const auto& [k, v] : entries) {
        std::string name(k->str());
        std::string low = core::ascii_lower(name);
        std::string path = r.key_path(name);
        std::string value;
        if (!r.read_string(name, value)) continue;  // marks the key known, reports the type
        if (!is_http_token(name)) {
            r.sink().error(k->source(), path, "not a valid header name (RFC 9110 token)");
            continue;
        }
        if (std::find(kForbiddenAdd.begin(), kForbiddenAdd.end(), low) != kForbiddenAdd.end()) {
            r.sink().error(k->source(), path,
                           fmt::format("{} is set by the server and cannot be added", name));
            continue;
        }
        auto def =
            std::find_if(kDefaultHeaders.begin(), kDefaultHeaders.end(),
                         [&](const DefaultHeader& d) { return core::ascii_lower(d.name) == low; });
        if (def != kDefaultHeaders.end()) {
            r.sink().error(k->source(), path,
                           fmt::format("set it with headers.{} instead", def->key));
            continue;
        }
        if (!valid_header_value(value)) {
            r.error(name,
                    "a header value must not contain CR, LF, NUL or other control characters");
            continue;
        }
        if (std::any_of(added.begin(), added.end(),
                        [&](const auto& p) { return core::ascii_lower(p.first) == low; })) {
            r.sink().error(k->source(), path, "added twice (header names are case-insensitive)");
            continue;
        }
        if (std::find(kDeprecated.begin(), kDeprecated.end(), low) != kDeprecated.end()) {
            r.sink().warning(k->source(), path,
                             fmt::format("{} is deprecated; browsers ignore it", name));
        }
        added.emplace_back(name, value);
    }
    policy.add = std::move(added);
}

void read_remove(TableReader& h, site::HeaderPolicy& policy) {
    std::vector<TableReader::Item> items;
    if (!h.read_string_list("remove", items)) return;
    std::vector<std::string> removed;
    for (const auto& item : items) {
        std::string low = core::ascii_lower(item.value);
        auto def =
            std::find_if(kDefaultHeaders.begin(), kDefaultHeaders.end(),
                         [&](const DefaultHeader& d) { return core::ascii_lower(d.name) == low; });
        if (def == kDefaultHeaders.end()) {
            h.sink().error(item.node->source(), item.path,
                           fmt::format("\"{}\" is not a default header", item.value));
            continue;
        }
        if (std::find(removed.begin(), removed.end(), def->name) != removed.end()) continue;
        h.sink().warning(item.node->source(), item.path,
                         fmt::format("removes the security header {}", def->name));
        removed.emplace_back(def->name);
    }
    policy.remove = std::move(removed);
}

}  // namespace

void read_headers(TableReader& site, site::HeaderPolicy& policy) {
    const toml::table* t = site.read_table("headers");
    if (!t) return;
    TableReader r(site.sink(), *t, site.key_path("headers"));

    if (r.read_int("hsts_max_age", policy.hsts_max_age, 0, INT64_MAX)) {
        if (policy.hsts_max_age == 0) {
            r.warning("hsts_max_age", "0 tells browsers to drop HSTS for this host");
        } else if (policy.hsts_max_age < 15552000) {
            r.warning("hsts_max_age",
                      "below 180 days (15552000): too short to protect returning "
                      "visitors");
        }
    }
    r.read_bool("hsts_include_subdomains", policy.hsts_include_subdomains);
    if (r.read_bool("hsts_preload", policy.hsts_preload) && policy.hsts_preload &&
        (!policy.hsts_include_subdomains || policy.hsts_max_age < 31536000)) {
        // hstspreload.org refuses the submission otherwise.
        r.error("hsts_preload",
                "needs hsts_include_subdomains = true and hsts_max_age >= 31536000");
    }

    struct Text {
        std::string_view key;
        std::string* out;
    };
    const Text texts[] = {
        {"content_security_policy", &policy.csp},
        {"x_content_type_options", &policy.x_content_type_options},
        {"x_frame_options", &policy.x_frame_options},
        {"referrer_policy", &policy.referrer_policy},
        {"permissions_policy", &policy.permissions_policy},
        {"cross_origin_opener_policy", &policy.cross_origin_opener_policy},
        {"cross_origin_resource_policy", &policy.cross_origin_resource_policy},
    };
    for (const auto& text : texts) {
        std::string v;
        if (!r.read_string(text.key, v)) continue;
        if (!valid_header_value(v)) {
            r.error(text.key,
                    "a header value must not contain CR, LF, NUL or other control characters");
            continue;
        }
        *text.out = std::move(v);
    }
    if (t->get("content_security_policy") && t->get("content_security_policy")->is_string()) {
        if (policy.csp.empty()) {
            r.warning("content_security_policy", "empty: no Content-Security-Policy is sent");
        } else {
            for (auto& w : csp_warnings(policy.csp)) r.warning("content_security_policy", w);
        }
    }

    // The grade itself is computed by audit/ (config cannot include it): app's config check
    // and the release commands compare it with this minimum.
    if (r.read_string("min_grade", policy.min_grade)) {
        static constexpr std::array<std::string_view, 14> kGrades{
            "A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "E", "F"};
        if (std::find(kGrades.begin(), kGrades.end(), policy.min_grade) == kGrades.end()) {
            r.error("min_grade",
                    fmt::format("\"{}\" is not a grade (A+, A, A-, B+ ... F)", policy.min_grade));
            policy.min_grade.clear();
        }
    }

    read_add(r, policy);
    read_remove(r, policy);
    r.finish();
}

void read_cache_rules(TableReader& site, std::vector<site::CacheRule>& rules) {
    const toml::array* arr = site.read_array("cache");
    if (!arr) return;
    std::vector<site::CacheRule> out;
    bool ok = true;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node& e = (*arr)[i];
        std::string path = fmt::format("{}[{}]", site.key_path("cache"), i);
        if (!e.is_table()) {
            site.sink().error(e.source(), path,
                              fmt::format("expected a table, got {}", type_name(e.type())));
            ok = false;
            continue;
        }
        const toml::table& t = *e.as_table();
        TableReader r(site.sink(), t, path);
        site::CacheRule rule;
        int kinds = 0;
        bool rule_ok = true;
        if (r.read_string("prefix", rule.prefix)) {
            ++kinds;
            if (rule.prefix.empty() || rule.prefix.front() != '/' ||
                !valid_header_value(rule.prefix)) {
                r.error("prefix", "must start with '/'");
                rule_ok = false;
            }
        }
        if (r.read_string("glob", rule.glob)) {
            ++kinds;
            if (rule.glob.empty() || rule.glob.front() != '/' || !valid_header_value(rule.glob)) {
                r.error("glob", "must start with '/'");
                rule_ok = false;
            }
        }
        if (r.read_string("extension", rule.extension)) {
            ++kinds;
            const std::string& x = rule.extension;
            bool good = !x.empty() && std::all_of(x.begin(), x.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_';
            });
            if (!good) {
                r.error("extension", "must be a file extension without the dot, like \"jpg\"");
                rule_ok = false;
            }
        }
        // Counted on the keys present, so a wrong type is not also reported as "missing".
        int present =
            (t.get("prefix") ? 1 : 0) + (t.get("glob") ? 1 : 0) + (t.get("extension") ? 1 : 0);
        if (present != 1) {
            r.error_here("needs exactly one of prefix, glob or extension");
            rule_ok = false;
        } else if (kinds != 1) {
            rule_ok = false;
        }
        if (!t.get("cache_control")) {
            site.sink().error(t.source(), r.key_path("cache_control"), "is required");
            r.allow("cache_control");
            rule_ok = false;
        } else if (!r.read_string("cache_control", rule.cache_control)) {
            rule_ok = false;
        } else if (!valid_header_value(rule.cache_control)) {
            r.error("cache_control",
                    "a header value must not contain CR, LF, NUL or other control characters");
            rule_ok = false;
        }
        r.finish();
        ok = ok && rule_ok;
        if (rule_ok) out.push_back(std::move(rule));
    }
    // An explicit empty list (cache = []) is allowed: it removes the default rules.
    if (ok) rules = std::move(out);
}

}  // namespace moat::config::internal

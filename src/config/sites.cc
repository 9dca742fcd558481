// [sites."<host>"]: hosts, environments, redirects and certificate sources, plus the check that
// no host is claimed twice (canonical hosts, aliases and environment hosts share one namespace).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "config/internal/reader.h"
#include "config/values.h"

namespace moat::config::internal {
namespace {

using site::Environment;
using site::HttpPolicy;
using site::SiteSettings;

// One place a host is claimed, for the duplicate check.
struct HostUse {
    std::string host;
    std::string key;
    toml::source_region at;
};

bool before(const toml::source_region& a, const toml::source_region& b) {
    if (a.begin.line != b.begin.line) return a.begin.line < b.begin.line;
    return a.begin.column < b.begin.column;
}

bool valid_env_name(std::string_view name) {
    if (name.empty() || name.size() > 63) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Accepts "https://host[:port][/path]" or "http://...": no spaces or control characters, since
// the value is copied into a Location header.
bool valid_redirect_url(std::string_view url) {
    std::string_view rest;
    if (url.rfind("https://", 0) == 0) {
        rest = url.substr(8);
    } else if (url.rfind("http://", 0) == 0) {
        rest = url.substr(7);
    } else {
        return false;
    }
    auto end = rest.find_first_of("/?#");
    if (end == 0 || rest.empty()) return false;
    return std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// A directory that must exist when the file is loaded.
bool read_root(TableReader& r, std::string_view key, const std::filesystem::path& base,
               std::string& out) {
    std::string root;
    if (!r.read_string(key, root)) return false;
    if (root.empty()) {
        r.error(key, "must not be empty");
        return false;
    }
    std::string path = resolve_path(base, root);
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) {
        r.error(key, fmt::format("\"{}\" is not an existing directory{}", root,
                                 path == root ? "" : fmt::format(" (looked for {})", path)));
        return false;
    }
    out = std::move(path);
    return true;
}

bool read_file_path(TableReader& r, std::string_view key, const std::filesystem::path& base,
                    std::string& out) {
    std::string file;
    if (!r.read_string(key, file)) return false;
    std::string path = resolve_path(base, file);
    std::error_code ec;
    if (file.empty() || !std::filesystem::is_regular_file(path, ec)) {
        r.error(key, fmt::format("\"{}\" is not an existing file{}", file,
                                 path == file ? "" : fmt::format(" (looked for {})", path)));
        return false;
    }
    out = std::move(path);
    return true;
}

// The host of a non-production environment without `host`: "test.<host>" for testing,
// "<name>.<host>" otherwise. Empty when that is not a valid host (an IP literal site).
std::string default_env_host(const std::string& name, const std::string& site_host) {
    const std::string prefix = name == "testing" ? "test" : name;
    auto h = normalize_host(prefix + "." + site_host);
    if (!h || is_ip_literal(site_host)) return {};
    return *h;
}

// Reads one [sites."<host>".environments.<name>] table into env. `site_store`: the site says
// store = true, so an environment without root is served from the store.
void read_environment(TableReader& envs, const std::string& name, const toml::table& t,
                      const std::string& site_host, const std::filesystem::path& base,
                      Environment& env, std::vector<HostUse>& hosts, bool site_store) {
    TableReader r(envs.sink(), t, envs.key_path(name));
    env.name = name;
    std::string host;
    if (r.read_string("host", host)) {
        if (auto h = normalize_host(host); !h) {
            r.error("host", fmt::format("\"{}\": {}", host, h.error().detail));
        } else if (name == "production" && *h != site_host) {
            r.error("host", fmt::format("the production host is the site's host \"{}\"; use "
                                        "aliases for other names",
                                        site_host));
        } else {
            env.host = *h;
            if (name != "production")
                hosts.push_back({env.host, r.key_path("host"), t.get("host")->source()});
        }
    } else if (!t.get("host") && !site_host.empty()) {  // empty: the site's host was reported
        if (name == "production") {
            env.host = site_host;
        } else {
            env.host = default_env_host(name, site_host);
            if (env.host.empty())
                r.error_here(fmt::format("set host: the default \"{}.{}\" is not a valid host",
                                         name == "testing" ? "test" : name, site_host));
            else
                hosts.push_back({env.host, r.path(), t.source()});
        }
    }
    // Files from a folder (root) or from the release the environment points at (store).
    bool store = site_store && !t.get("root");
    if (r.read_bool("store", store) && store && t.get("root")) {
        r.error("store", "set either root or store = true");
        r.allow("root");
    } else if (store) {
        env.from_store = true;
    } else if (!t.get("root")) {
        r.sink().error(t.source(), r.key_path("root"), "is required");
    } else {
        read_root(r, "root", base, env.root);
    }
    r.finish();
}

void read_environments(TableReader& site, const std::string& site_host,
                       const std::filesystem::path& base, SiteSettings& out,
                       std::vector<HostUse>& hosts, bool& has_production, bool site_store) {
    const toml::table* t = site.read_table("environments");
    if (!t) return;
    TableReader r(site.sink(), *t, site.key_path("environments"));
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [k, v] : *t) entries.emplace_back(&k, &v);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        return before(a.first->source(), b.first->source());
    });
    for (const auto& [k, v] : entries) {
        std::string name(k->str());
        r.allow(name);
        if (!valid_env_name(name)) {
            r.sink().error(k->source(), r.key_path(name),
                           "environment names are 1-63 characters of a-z, 0-9 and '-'");
            continue;
        }
        if (!v->is_table()) {
            r.error(name, fmt::format("expected a table, got {}", type_name(v->type())));
            continue;
        }
        Environment env;
        read_environment(r, name, *v->as_table(), site_host, base, env, hosts, site_store);
        if (name == "production") {
            has_production = true;
            out.environments.insert(out.environments.begin(), std::move(env));
        } else {
            out.environments.push_back(std::move(env));
        }
    }
    r.finish();
}

struct SiteResult {
    SiteSettings settings;
    tls::CertSpec cert;
    toml::source_region at;
};

void read_site(TableReader& sites, const toml::key& key, const toml::table& t,
               const std::filesystem::path& base, SiteResult& res, std::vector<HostUse>& hosts) {
    TableReader r(sites.sink(), t, sites.key_path(key.str()));
    SiteSettings& s = res.settings;
    auto host = normalize_host(key.str());
    if (!host) {
        r.sink().error(key.source(), r.path(),
                       fmt::format("invalid host: {}", host.error().detail));
    } else {
        s.host = *host;
        hosts.push_back({s.host, r.path(), key.source()});
    }
    s.name = s.host;
    if (r.read_string("name", s.name) && s.name.empty()) r.error("name", "must not be empty");

    std::vector<TableReader::Item> aliases;
    if (r.read_string_list("aliases", aliases)) {
        for (const auto& a : aliases) {
            auto h = normalize_host(a.value);
            if (!h) {
                r.sink().error(a.node->source(), a.path,
                               fmt::format("\"{}\": {}", a.value, h.error().detail));
                continue;
            }
            s.aliases.push_back(*h);
            hosts.push_back({*h, a.path, a.node->source()});
        }
    }

    // store = true: production and testing (and environments without root) are served from
    // the releases in the store instead of a folder.
    bool site_store = false;
    if (r.read_bool("store", site_store) && site_store && t.get("root")) {
        r.error("store", "set either root or store = true");
        site_store = false;
    }
    bool has_production = false;
    Environment production{"production", s.host, ""};
    bool has_root = read_root(r, "root", base, production.root);
    read_environments(r, s.host, base, s, hosts, has_production, site_store);
    if (has_root && has_production) {
        r.error("root", "set either root or environments.production.root, not both");
    } else if (has_root) {
        s.environments.insert(s.environments.begin(), std::move(production));
        has_production = true;
    }
    if (site_store && !s.host.empty()) {
        if (!has_production) {
            production.from_store = true;
            s.environments.insert(s.environments.begin(), std::move(production));
            has_production = true;
        }
        const bool has_testing =
            std::any_of(s.environments.begin(), s.environments.end(),
                        [](const Environment& e) { return e.name == "testing"; });
        if (!has_testing) {
            Environment testing{"testing", default_env_host("testing", s.host), "", true};
            if (testing.host.empty()) {
                r.error("store", fmt::format("the testing host \"test.{}\" is not a valid host: "
                                             "set environments.testing.host",
                                             s.host));
            } else {
                hosts.push_back({testing.host, r.key_path("store"), t.get("store")->source()});
                s.environments.push_back(std::move(testing));
            }
        }
    }
    r.read_int_as("approvals", s.approvals, 0, 5);
    // A store-served site's name is its folder in the content bucket (content/<env>/<name>/)
    // and what `moat deploy --site` names: keep it a plain key segment.
    const bool any_store = std::any_of(s.environments.begin(), s.environments.end(),
                                       [](const Environment& e) { return e.from_store; });
    if (any_store && !std::all_of(s.name.begin(), s.name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '-' || c == '_';
        }))
        r.error("name", fmt::format("\"{}\": a store-served site's name is its folder in the "
                                    "content bucket: letters, digits, '.', '-' and '_' only",
                                    s.name));

    // Judged on the keys present, not on what parsed, so one bad root gives one error.
    const toml::node* envs = t.get("environments");
    bool names_production = t.get("root") || site_store ||
                            (envs && envs->is_table() && envs->as_table()->contains("production"));
    if (r.read_string("redirect_to", s.redirect_to) && !s.redirect_to.empty()) {
        if (!valid_redirect_url(s.redirect_to)) {
            r.error("redirect_to",
                    fmt::format("\"{}\" is not an http:// or https:// URL", s.redirect_to));
        }
        if (t.get("root") || envs) {
            r.error("redirect_to", "a redirect-only site has no root or environments");
        } else if (site_store) {
            r.error("redirect_to", "a redirect-only site is not served from the store");
        }
    } else if (!t.get("root") && !envs && !site_store) {
        r.error_here("a site needs root, environments or redirect_to");
    } else if (!names_production) {
        r.error_here("no production environment: set root or environments.production");
    }

    std::int64_t status = s.redirect_status;
    if (r.read_int("redirect_status", status, 0, 999)) {
        if (status != 301 && status != 302 && status != 307 && status != 308) {
            r.error("redirect_status", fmt::format("must be 301, 302, 307 or 308, got {}", status));
        } else {
            s.redirect_status = static_cast<int>(status);
        }
    }

    std::string http;
    if (r.read_choice("http", http, {"redirect", "redirect-home", "refuse"})) {
        s.http_policy = http == "redirect"        ? HttpPolicy::kRedirect
                        : http == "redirect-home" ? HttpPolicy::kRedirectHome
                                                  : HttpPolicy::kRefuse;
    }

    std::string source = "internal";
    r.read_choice("tls", source, {"internal", "files", "acme"});
    res.cert.source = source == "files"  ? tls::CertSource::kFiles
                      : source == "acme" ? tls::CertSource::kAcme
                                         : tls::CertSource::kInternal;
    for (std::string_view k : {"cert", "key"}) {
        std::string& dst = k == "cert" ? res.cert.cert_file : res.cert.key_file;
        if (source == "files") {
            if (!t.get(k)) {
                r.sink().error(t.source(), r.key_path(k), "is required when tls = \"files\"");
                r.allow(k);
            } else {
                read_file_path(r, k, base, dst);
            }
        } else if (r.get(k)) {
            r.error(k, "is only used with tls = \"files\"");
        }
    }
    // An RSA certificate beside the (ECDSA) one, for clients that cannot verify ECDSA.
    if (r.get("cert_rsa") || r.get("key_rsa")) {
        if (source != "files") {
            r.error(r.get("cert_rsa") ? "cert_rsa" : "key_rsa",
                    "is only used with tls = \"files\"");
        } else if (!r.get("cert_rsa") || !r.get("key_rsa")) {
            r.error(r.get("cert_rsa") ? "cert_rsa" : "key_rsa", "cert_rsa and key_rsa go together");
        } else {
            read_file_path(r, "cert_rsa", base, res.cert.rsa_cert_file);
            read_file_path(r, "key_rsa", base, res.cert.rsa_key_file);
        }
    }
    // tls = "internal": key_type = ["ecdsa-p256", "rsa2048"] adds an RSA-2048 leaf from the CA
    // (ACME sites take [acme] key_type; static files cert_rsa/key_rsa).
    std::vector<TableReader::Item> key_types;
    if (const toml::node* k = t.get("key_type"); k && k->is_string()) {
        r.allow("key_type");
        key_types.push_back({k->value<std::string>().value_or(""), k, r.key_path("key_type")});
    } else {
        r.read_string_list("key_type", key_types);
    }
    if (!key_types.empty() && source != "internal")
        r.error("key_type", "is only used with tls = \"internal\" (ACME: [acme] key_type)");
    for (const auto& kt : key_types) {
        if (source != "internal") break;
        if (kt.value == "rsa2048")
            res.cert.internal_rsa = true;
        else if (kt.value != "ecdsa-p256")
            r.error("key_type",
                    fmt::format("\"{}\": expected \"ecdsa-p256\" or \"rsa2048\"", kt.value));
    }

    if (r.read_string("error_page", s.error_page)) {
        const std::string& p = s.error_page;
        bool bad = !p.empty() && (p.front() == '/' || p == ".." || p.rfind("../", 0) == 0 ||
                                  p.find("/../") != std::string::npos ||
                                  (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0) ||
                                  p.find('\\') != std::string::npos || has_control(p));
        if (bad) r.error("error_page", "must be a path inside the root, without \"..\"");
    }
    if (r.read_string("index", s.index)) {
        if (s.index.empty() || s.index == "." || s.index == ".." ||
            s.index.find_first_of("/\\") != std::string::npos || has_control(s.index))
            r.error("index", "must be a file name");
    }
    r.read_bool("precompressed", s.precompressed);
    r.read_bool("compress", s.compress);
    if (r.read_string("default_cache_control", s.default_cache_control) &&
        has_control(s.default_cache_control))
        r.error("default_cache_control", "must not contain control characters (CR, LF, ...)");

    read_headers(r, s.headers);
    read_cache_rules(r, s.cache_rules);
    r.finish();
}

}  // namespace

void read_sites(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    const toml::node* node = top.get("sites");
    if (!node) {
        top.sink().error(top.table().source(), "sites", "no site is configured");
        return;
    }
    const toml::table* t = top.read_table("sites");
    if (!t) return;
    TableReader r(top.sink(), *t, top.key_path("sites"));

    std::vector<SiteResult> sites;
    std::vector<HostUse> hosts;
    for (auto&& [k, v] : *t) {
        r.allow(k.str());
        if (!v.is_table()) {
            r.error(k.str(), fmt::format("expected a table, got {}", type_name(v.type())));
            continue;
        }
        SiteResult res;
        res.at = k.source();
        read_site(r, k, *v.as_table(), base, res, hosts);
        sites.push_back(std::move(res));
    }
    r.finish();
    if (t->empty()) r.error_here("no site is configured");

    // Report each duplicate at its later place, naming the earlier one.
    std::stable_sort(hosts.begin(), hosts.end(),
                     [](const HostUse& a, const HostUse& b) { return before(a.at, b.at); });
    std::map<std::string, const HostUse*> first;
    for (const auto& use : hosts) {
        auto [it, inserted] = first.emplace(use.host, &use);
        if (inserted) continue;
        const HostUse& prev = *it->second;
        top.sink().error(use.at, use.key,
                         fmt::format("host \"{}\" is already used by {} (line {}, column {})",
                                     use.host, prev.key, prev.at.begin.line, prev.at.begin.column));
    }

    std::stable_sort(sites.begin(), sites.end(),
                     [](const SiteResult& a, const SiteResult& b) { return before(a.at, b.at); });
    for (auto& res : sites) {
        const SiteSettings& s = res.settings;
        res.cert.names.push_back(s.host);
        for (const auto& a : s.aliases) res.cert.names.push_back(a);
        for (const auto& env : s.environments) {
            if (env.name != "production") res.cert.names.push_back(env.host);
        }
        cfg.tls.certs.push_back(std::move(res.cert));
        cfg.sites.push_back(std::move(res.settings));
    }
}

}  // namespace moat::config::internal

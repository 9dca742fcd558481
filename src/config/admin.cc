// Reads the [admin] section of moat.toml into Config::admin. Fills AdminSettings only; never
// calls into admin/ (the config fuzz target compiles config/*.cc alone).
#include <fmt/format.h>

#include <algorithm>

#include "config/internal/reader.h"

namespace moat::config::internal {
namespace {

// The admin listener must not take an address another listener of this process already
// binds (the second bind would fail at start-up, after the config was accepted).
void check_listen_conflicts(TableReader& r, const Config& cfg) {
    if (!r.table().contains("listen")) return;
    auto taken = [&](const std::string& a) -> const char* {
        auto has = [&](const std::vector<std::string>& v) {
            return std::find(v.begin(), v.end(), a) != v.end();
        };
        if (cfg.s3.enabled && has(cfg.s3.listen)) return "s3.listen";
        if (has(cfg.edge.https_listen)) return "edge.https";
        if (has(cfg.edge.http_listen)) return "edge.http";
        if (a == cfg.edge.metrics_listen) return "edge.metrics";
        return nullptr;
    };
    for (const auto& a : cfg.admin.listen)
        if (const char* other = taken(a))
            r.error("listen", fmt::format("\"{}\" is already used by {}", a, other));
}

}  // namespace

void read_admin(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    (void)base;
    admin::AdminSettings& s = cfg.admin;
    // The admin API manages what lives in the store (releases, principals, audit log).
    s.enabled = cfg.store.enabled;
    const std::string dir = cfg.store.dir;
    s.db_path = dir + "/admin.db";
    s.audit_db_path = dir + "/audit.db";
    s.key_file = dir + "/admin.key";

    const toml::table* t = top.read_table("admin");
    if (!t) return;
    TableReader r(top.sink(), *t, top.key_path("admin"));
    bool enabled = s.enabled;
    if (r.read_bool("enabled", enabled)) {
        if (enabled && !cfg.store.enabled)
            r.error("enabled", "the admin API needs the store: enable [store] first");
        else
            s.enabled = enabled;
    }
    read_listen_list(r, "listen", s.listen);
    read_host_list(r, "hosts", s.hosts);
    check_listen_conflicts(r, cfg);
    r.read_int_as("max_connections", s.max_connections, 1, 4096);
    r.read_int_as("max_failures", s.max_failures, 1, 1000);
    constexpr std::chrono::milliseconds kSecond{1000};
    r.read_duration("failure_window", s.failure_window, kSecond);
    r.read_duration("lockout", s.lockout, kSecond);
    std::string issuer;
    if (r.read_string("totp_issuer", issuer)) {
        // It is shown by authenticator apps and sits in an otpauth:// URI label.
        const bool ok = !issuer.empty() && issuer.size() <= 64 &&
                        std::none_of(issuer.begin(), issuer.end(), [](char c) {
                            return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ':';
                        });
        if (ok)
            s.totp_issuer = issuer;
        else
            r.error("totp_issuer", "must be 1-64 characters without ':' or control characters");
    }
    r.finish();
}

}  // namespace moat::config::internal

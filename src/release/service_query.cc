// ReleaseService: read-only calls, and invalidation.
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "release/internal/paths.h"
#include "release/internal/service_impl.h"

namespace moat::release::internal {

Result<std::vector<ReleaseInfo>> ServiceImpl::releases(std::string_view site) {
    auto s = find_site(site);
    if (!s) return s.error();
    auto rows = db_->releases(site);
    if (!rows) return rows.error();
    auto ptrs = db_->pointers(site);
    if (!ptrs) return ptrs.error();
    std::vector<ReleaseInfo> out;
    for (const auto& r : *rows) out.push_back(info_of(r, *ptrs));
    return out;
}

Result<ReleaseInfo> ServiceImpl::release(std::string_view site, std::string_view id) {
    auto s = find_site(site);
    if (!s) return s.error();
    auto row = load_row(site, id);
    if (!row) return row.error();
    return info_of(*row);
}

Result<Manifest> ServiceImpl::manifest(std::string_view site, std::string_view id) {
    auto s = find_site(site);
    if (!s) return s.error();
    auto row = load_row(site, id);
    if (!row) return row.error();
    return load_manifest(*row);
}

Result<std::vector<PointerMove>> ServiceImpl::history(std::string_view site) {
    auto s = find_site(site);
    if (!s) return s.error();
    auto rows = db_->history(site);
    if (!rows) return rows.error();
    std::vector<PointerMove> out;
    for (auto& h : *rows)
        out.push_back(PointerMove{std::move(h.env), std::move(h.release_id), std::move(h.previous),
                                  std::move(h.action), std::move(h.by), from_ms(h.at_ms)});
    return out;
}

Result<Diff> ServiceImpl::diff(std::string_view site, std::string_view from, std::string_view to) {
    auto s = find_site(site);
    if (!s) return s.error();
    auto a = manifest(site, from);
    if (!a) return a.error();
    auto b = manifest(site, to);
    if (!b) return b.error();
    return release::diff(*a, *b);
}

Result<Invalidation> ServiceImpl::invalidate(std::string_view site, std::string_view env,
                                             const std::vector<std::string>& paths,
                                             std::string_view by) {
    MOAT_TRY(check_invalidation_paths(paths));
    auto s = find_site(site);
    if (!s) return s.error();
    std::vector<const site::Environment*> envs;
    for (const auto& e : s->environments)
        if (env.empty() || e.name == env) envs.push_back(&e);
    if (envs.empty())
        return release_error(
            Errc::kNotFound, Reason::kUnknownEnvironment,
            "site " + s->name + " has no environment \"" + std::string(env) + "\"");
    std::lock_guard lock(mu_);
    // A store-served environment is rebuilt from its S3 prefix (what was uploaded becomes
    // live); the protected one changes only by promotion. Folder environments have no cache
    // that can be stale: only the record is kept.
    for (const auto* e : envs) {
        if (!e->from_store || is_protected(e->name)) continue;
        auto r = build_locked(*s, e->name, by);
        if (!r && reason_of(r.error()) != Reason::kNoRelease) return r.error();
    }
    Invalidation inv;
    inv.site = s->name;
    inv.env = std::string(env);
    inv.paths = paths;
    inv.status = "Completed";
    inv.by = std::string(by);
    std::int64_t at = now_ms();
    inv.created = from_ms(at);
    auto seq = db_->add_invalidation(
        site, env,
        nlohmann::json(paths).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), by,
        at);
    if (!seq) return seq.error();
    inv.id = "I" + std::to_string(*seq);
    core::logger("release")->info("invalidation site={} env={} paths={} by={}", site, env,
                                  paths.size(), by);
    return inv;
}

}  // namespace moat::release::internal

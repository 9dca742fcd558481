// ReleaseService: pointer moves, promotion with approvals, rollback, retention.
#include <set>

#include "core/log.h"
#include "release/internal/mirror.h"
#include "release/internal/service_impl.h"

namespace moat::release::internal {

Result<void> ServiceImpl::move(const site::SiteSettings& s, std::string_view env,
                               const ReleaseRow& row, const Manifest& m, std::string_view action,
                               std::string_view by, bool mirror_it) {
    auto log = core::logger("release");
    auto prev = db_->pointer(s.name, env);
    if (!prev) return prev.error();
    // Bodies load before the switch; on failure nothing a visitor sees has changed.
    MOAT_TRY(catalog_.activate(s.name, env, row.id, m));
    MoveRow mv{std::string(env), row.id, *prev, std::string(action), std::string(by), now_ms()};
    if (auto r = db_->move_pointer(s.name, mv); !r) {
        // Serve what the database says, so a restart does not change what visitors see.
        log->error("pointer not recorded site={} env={} id={} err={}", s.name, env, row.id,
                   r.error().detail);
        if (!prev->empty()) {
            auto old = load_row(s.name, *prev);
            auto om = old ? load_manifest(*old) : Result<Manifest>(old.error());
            if (om) (void)catalog_.activate(s.name, env, *prev, *om);
        } else {
            catalog_.clear(s.name, env);
        }
        return r.error();
    }
    log->info("environment moved site={} env={} from={} to={} action={} by={}", s.name, env, *prev,
              row.id, action, by);
    // After the switch: the pointer is what visitors see; the S3 view follows it.
    if (mirror_it) mirrorer_.submit(std::string(prefix_of(env, s.name)), m);
    if (auto p = prune_locked(s.name); !p)
        log->warn("prune failed site={} err={}", s.name, p.error().detail);
    return {};
}

Result<PromoteOutcome> ServiceImpl::promote_now(const site::SiteSettings& s, const ReleaseRow& row,
                                                std::string_view by, std::string requested_by,
                                                std::vector<std::string> approvers) {
    auto m = load_manifest(row);
    if (!m) return m.error();
    auto cur = db_->pointer(s.name, settings_.protected_env);
    if (!cur) return cur.error();
    if (*cur != row.id) MOAT_TRY(move(s, settings_.protected_env, row, *m, "promote", by, true));
    MOAT_TRY(db_->finish_promotion(s.name, row.id, "done", ""));
    auto info = info_of(row);
    if (!info) return info.error();
    PromoteOutcome o;
    o.promoted = true;
    o.release = std::move(*info);
    o.required = s.approvals;
    o.requested_by = std::move(requested_by);
    o.approvers = std::move(approvers);
    o.approvals = static_cast<int>(o.approvers.size());
    return o;
}

Result<PromoteOutcome> ServiceImpl::promote(std::string_view site, std::string_view from,
                                            std::string_view release, std::string_view by,
                                            bool force) {
    auto s = find_site(site);
    if (!s) return s.error();
    auto target = store_env(*s, settings_.protected_env);
    if (!target) return target.error();
    MOAT_TRY(check_policy(*s, force, "promote", by));
    std::lock_guard lock(mu_);
    std::string id(release);
    if (id.empty()) {
        auto e = store_env(*s, from);
        if (!e) return e.error();
        auto p = db_->pointer(site, from);
        if (!p) return p.error();
        if (p->empty())
            return release_error(Errc::kNotFound, Reason::kNoRelease,
                                 std::string(from) + " of " + s->name + " has no release yet");
        id = *p;
    }
    auto row = load_row(site, id);
    if (!row) return row.error();

    // Approvals count for this exact content (release and manifest hash), from others than
    // the requester.
    auto who = db_->approvers(site, row->id, row->manifest_hash);
    if (!who) return who.error();
    std::vector<std::string> others;
    for (auto& a : *who)
        if (a != by) others.push_back(std::move(a));
    if (static_cast<int>(others.size()) >= s->approvals)
        return promote_now(*s, *row, by, std::string(by), std::move(others));

    PromotionRow p{s->name, row->id, row->manifest_hash, std::string(by), now_ms()};
    MOAT_TRY(db_->request_promotion(p));
    core::logger("release")->info("promotion requested site={} id={} by={} approvals={}/{}",
                                  s->name, row->id, by, others.size(), s->approvals);
    return outcome_of(*s, p, false);
}

Result<PromoteOutcome> ServiceImpl::approve(std::string_view site, std::string_view release,
                                            std::string_view by, bool force) {
    auto s = find_site(site);
    if (!s) return s.error();
    auto target = store_env(*s, settings_.protected_env);
    if (!target) return target.error();
    std::lock_guard lock(mu_);
    auto p = db_->pending(site);
    if (!p) return p.error();
    if (!*p || (*p)->release_id != release)
        return release_error(Errc::kConflict, Reason::kNotPending,
                             "no promotion of " + std::string(release) + " is waiting");
    if ((*p)->requested_by == by)
        return release_error(Errc::kDenied, Reason::kSelfApproval,
                             "the requester of a promotion cannot approve it");
    MOAT_TRY(db_->add_approval(site, (*p)->release_id, (*p)->manifest_hash, by, now_ms()));
    auto o = outcome_of(*s, **p, false);
    if (!o) return o.error();
    if (o->approvals < s->approvals) return o;
    MOAT_TRY(check_policy(*s, force, "approve", by));
    auto row = load_row(site, (*p)->release_id);
    if (!row) return row.error();
    if (row->manifest_hash != (*p)->manifest_hash)
        return make_error(Errc::kInternal, "release " + row->id + " changed its manifest");
    return promote_now(*s, *row, by, (*p)->requested_by, std::move(o->approvers));
}

Result<void> ServiceImpl::reject(std::string_view site, std::string_view release,
                                 std::string_view by, std::string_view reason) {
    auto s = find_site(site);
    if (!s) return s.error();
    std::lock_guard lock(mu_);
    auto p = db_->pending(site);
    if (!p) return p.error();
    if (!*p || (*p)->release_id != release)
        return release_error(Errc::kConflict, Reason::kNotPending,
                             "no promotion of " + std::string(release) + " is waiting");
    MOAT_TRY(db_->finish_promotion(site, release, "rejected", reason));
    // A new request for the same content starts from no approvals.
    MOAT_TRY(db_->delete_approvals(site, release, (*p)->manifest_hash));
    core::logger("release")->info("promotion rejected site={} id={} by={}", site, release, by);
    return {};
}

Result<ReleaseInfo> ServiceImpl::rollback(std::string_view site, std::string_view env,
                                          std::string_view to, std::string_view by) {
    auto s = find_site(site);
    if (!s) return s.error();
    auto e = store_env(*s, env);
    if (!e) return e.error();
    std::lock_guard lock(mu_);
    auto cur = db_->pointer(site, env);
    if (!cur) return cur.error();
    auto hist = db_->history_releases(site, env);
    if (!hist) return hist.error();
    std::string id(to);
    if (id.empty()) {
        // The release served before the current one (still kept).
        for (const auto& h : *hist) {
            if (h == *cur) continue;
            auto r = db_->release(site, h);
            if (!r) return r.error();
            if (*r) {
                id = h;
                break;
            }
        }
        if (id.empty())
            return release_error(
                Errc::kNotFound, Reason::kNoRelease,
                std::string(env) + " of " + s->name + " has no earlier release to go back to");
    } else if (is_protected(env) && std::find(hist->begin(), hist->end(), id) == hist->end()) {
        return release_error(Errc::kDenied, Reason::kNeverLive,
                             id + " was never live in " + std::string(env));
    }
    auto row = load_row(site, id);
    if (!row) return row.error();
    if (*cur != row->id) {
        auto m = load_manifest(*row);
        if (!m) return m.error();
        MOAT_TRY(move(*s, env, *row, *m, "rollback", by, true));
    }
    return info_of(*row);
}

Result<int> ServiceImpl::prune(std::string_view site) {
    auto s = find_site(site);
    if (!s) return s.error();
    std::lock_guard lock(mu_);
    return prune_locked(site);
}

Result<int> ServiceImpl::prune_locked(std::string_view site) {
    std::set<std::string> keep;
    auto hist = db_->history(site);
    if (!hist) return hist.error();
    std::map<std::string, std::set<std::string>> per_env;  // env -> distinct releases, newest
    for (const auto& h : *hist) {
        auto& kept = per_env[h.env];
        if (static_cast<int>(kept.size()) >= settings_.keep) continue;
        kept.insert(h.release_id);
        keep.insert(h.release_id);
    }
    auto ptrs = db_->pointers(site);
    if (!ptrs) return ptrs.error();
    for (const auto& [env, id] : *ptrs) keep.insert(id);
    auto p = db_->pending(site);
    if (!p) return p.error();
    if (*p) keep.insert((*p)->release_id);

    auto rows = db_->releases(site);
    if (!rows) return rows.error();
    int pruned = 0;
    // Variant objects of pruned releases stay: small, and a later release may name them again
    // (the variants table still points at them).
    for (const auto& r : *rows) {
        if (keep.count(r.id)) continue;
        MOAT_TRY(store_.release_holds(holder_of(site, r.id)));
        MOAT_TRY(db_->delete_release(site, r.id));
        ++pruned;
        core::logger("release")->info("release pruned site={} id={}", site, r.id);
    }
    return pruned;
}

}  // namespace moat::release::internal

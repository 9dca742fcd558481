// ReleaseService: opening, the site table, S3 writes, status, and shared helpers.
#include "release/service.h"

#include "core/log.h"
#include "release/internal/mirror.h"
#include "release/internal/service_impl.h"

namespace moat::release {

namespace internal {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
        .count();
}

Clock::time_point from_ms(std::int64_t ms) {
    return Clock::time_point(
        std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(ms)));
}

std::string holder_of(std::string_view site, std::string_view id) {
    return "release:" + std::string(site) + ":" + std::string(id);
}

std::string prefix_of(std::string_view env, std::string_view site) {
    return std::string(env) + "/" + std::string(site) + "/";
}

ServiceImpl::ServiceImpl(store::Store& store, Catalog& catalog, ReleaseSettings settings,
                         ServiceOptions opts, std::unique_ptr<ReleaseDb> db)
    : store_(store),
      catalog_(catalog),
      settings_(std::move(settings)),
      opts_(std::move(opts)),
      db_(std::move(db)),
      variants_(store_, *db_, settings_),
      sites_(std::make_shared<const Sites>()),
      mirrorer_(store_),
      settler_(settings_.settle, settings_.settle_max,
               [this](const std::string& site, const std::string& env) {
                   auto r = build_from_prefix(site, env, "s3");
                   if (!r && reason_of(r.error()) != Reason::kNoRelease)
                       core::logger("release")->warn(
                           "release from s3 writes failed site={} env={} err={}", site, env,
                           r.error().detail);
               }) {}

ServiceImpl::~ServiceImpl() {
    settler_.stop();
    mirrorer_.stop();
}

std::shared_ptr<const Sites> ServiceImpl::sites() const {
    std::lock_guard lock(sites_mu_);
    return sites_;
}

Result<site::SiteSettings> ServiceImpl::find_site(std::string_view name) const {
    auto snap = sites();
    auto it = snap->find(name);
    if (it == snap->end())
        return release_error(Errc::kNotFound, Reason::kUnknownSite,
                             "no site \"" + std::string(name) + "\"");
    return it->second;
}

Result<const site::Environment*> ServiceImpl::store_env(const site::SiteSettings& s,
                                                        std::string_view env) const {
    for (const auto& e : s.environments)
        if (e.name == env && e.from_store) return &e;
    return release_error(Errc::kNotFound, Reason::kUnknownEnvironment,
                         "site " + s.name + " has no environment \"" + std::string(env) +
                             "\" served from the store");
}

Result<void> ServiceImpl::writable(const site::SiteSettings& s, std::string_view env) const {
    auto e = store_env(s, env);
    if (!e) return e.error();
    if (is_protected(env))
        return release_error(
            Errc::kDenied, Reason::kProtectedEnvironment,
            std::string(env) + " changes only by promotion or rollback, never by a deploy");
    return {};
}

Result<void> ServiceImpl::check_policy(const site::SiteSettings& s, bool force,
                                       std::string_view action, std::string_view by) const {
    if (!opts_.policy_check) return {};
    std::string msg = opts_.policy_check(s);
    if (msg.empty()) return {};
    if (!force) return release_error(Errc::kDenied, Reason::kPolicy, std::move(msg));
    core::logger("release")->warn("policy overridden site={} action={} by={} policy={}", s.name,
                                  action, by, msg);
    return {};
}

// The host rule of site_table.h: an environment without a host of its own is production on
// the canonical host, testing on test.<host>, any other <name>.<host>.
std::string ServiceImpl::url_of(const site::SiteSettings& s, const site::Environment& e) const {
    std::string host = e.host;
    if (host.empty()) {
        if (e.name == "production")
            host = s.host;
        else if (e.name == "testing")
            host = "test." + s.host;
        else
            host = e.name + "." + s.host;
    }
    std::string url = "https://" + host;
    if (opts_.https_port != 443) url += ":" + std::to_string(opts_.https_port);
    return url + "/";
}

Result<ReleaseRow> ServiceImpl::load_row(std::string_view site, std::string_view id) {
    auto row = db_->release(site, id);
    if (!row) return row.error();
    if (!*row)
        return release_error(
            Errc::kNotFound, Reason::kUnknownRelease,
            "site " + std::string(site) + " has no release \"" + std::string(id) + "\"");
    return std::move(**row);
}

Result<Manifest> ServiceImpl::load_manifest(const ReleaseRow& row) {
    auto m = manifest_from_json(row.manifest_json);
    if (!m)
        return make_error(Errc::kInternal,
                          "release " + row.site + " " + row.id + ": " + m.error().detail);
    return m;
}

ReleaseInfo ServiceImpl::info_of(const ReleaseRow& row,
                                 const std::map<std::string, std::string>& ptrs) {
    ReleaseInfo i;
    i.id = row.id;
    i.site = row.site;
    i.manifest_hash = row.manifest_hash;
    i.source = row.source;
    i.created_by = row.created_by;
    i.created = from_ms(row.created_ms);
    i.files = row.files;
    i.bytes = row.bytes;
    for (const auto& [env, id] : ptrs)
        if (id == row.id) i.environments.push_back(env);
    return i;
}

Result<ReleaseInfo> ServiceImpl::info_of(const ReleaseRow& row) {
    auto ptrs = db_->pointers(row.site);
    if (!ptrs) return ptrs.error();
    return info_of(row, *ptrs);
}

Result<void> ServiceImpl::set_sites(std::vector<site::SiteSettings> list) {
    std::lock_guard lock(mu_);
    auto snap = std::make_shared<Sites>();
    for (auto& s : list) snap->emplace(s.name, std::move(s));
    {
        std::lock_guard l(sites_mu_);
        sites_ = snap;
    }
    std::set<std::pair<std::string, std::string>> wanted;
    for (const auto& [name, s] : *snap)
        for (const auto& e : s.environments)
            if (e.from_store) wanted.emplace(name, e.name);
    for (const auto& [site, env] : active_)
        if (!wanted.count({site, env})) catalog_.clear(site, env);
    active_ = wanted;

    auto log = core::logger("release");
    Result<void> first;
    for (const auto& [site, env] : wanted) {
        const auto& s = snap->at(site);
        auto id = db_->pointer(site, env);
        Result<void> r;
        if (!id) {
            r = id.error();
        } else if (id->empty()) {
            // Files put under content/<env>/<site>/ before the environment was served from the
            // store become its first release (not for the protected environment: only a
            // promotion changes it).
            if (is_protected(env)) continue;
            auto listed = list_prefix(store_, kContentBucket, prefix_of(env, site));
            if (listed && listed->empty()) continue;
            if (!listed)
                r = listed.error();
            else if (auto b = build_locked(s, env, "s3"); !b) {
                // A site below its header policy serves nothing until it is fixed (or an admin
                // forces a deploy); that is no reason to refuse to start.
                if (reason_of(b.error()) == Reason::kPolicy) {
                    log->error("first release of site={} env={} refused: {}", site, env,
                               b.error().detail);
                    continue;
                }
                r = b.error();
            }
        } else if (catalog_.serving(site, env) != *id) {
            auto row = load_row(site, *id);
            auto m = row ? load_manifest(*row) : Result<Manifest>(row.error());
            if (!m)
                r = m.error();
            else
                r = catalog_.activate(site, env, *id, *m);
        }
        if (!r) {
            log->error("release activation failed site={} env={} err={}", site, env,
                       r.error().detail);
            if (first) first = r;
        }
    }
    return first;
}

void ServiceImpl::start() {
    mirrorer_.start();
    settler_.start();
}
void ServiceImpl::stop() {
    settler_.stop();
    mirrorer_.stop();
}

void ServiceImpl::on_s3_write(std::string_view bucket, std::string_view key) {
    if (bucket != kContentBucket) return;
    std::size_t a = key.find('/');
    if (a == std::string_view::npos) return;
    std::size_t b = key.find('/', a + 1);
    if (b == std::string_view::npos || b == a + 1) return;
    std::string_view env = key.substr(0, a), site = key.substr(a + 1, b - a - 1);
    if (is_protected(env)) return;
    auto snap = sites();
    auto it = snap->find(site);
    if (it == snap->end()) return;
    for (const auto& e : it->second.environments)
        if (e.name == env && e.from_store) settler_.mark(std::string(site), std::string(env));
}

Result<PromoteOutcome> ServiceImpl::outcome_of(const site::SiteSettings& s, const PromotionRow& p,
                                               bool promoted) {
    auto row = load_row(s.name, p.release_id);
    if (!row) return row.error();
    auto info = info_of(*row);
    if (!info) return info.error();
    auto who = db_->approvers(s.name, p.release_id, p.manifest_hash);
    if (!who) return who.error();
    PromoteOutcome o;
    o.promoted = promoted;
    o.release = std::move(*info);
    o.required = s.approvals;
    o.requested_by = p.requested_by;
    for (auto& a : *who)
        if (a != p.requested_by) o.approvers.push_back(std::move(a));
    o.approvals = static_cast<int>(o.approvers.size());
    return o;
}

Result<SiteStatus> ServiceImpl::status_of(const site::SiteSettings& s) {
    auto ptrs = db_->pointers(s.name);
    if (!ptrs) return ptrs.error();
    SiteStatus st;
    st.site = s.name;
    st.approvals_required = s.approvals;
    for (const auto& e : s.environments) {
        EnvStatus es;
        es.name = e.name;
        es.url = url_of(s, e);
        es.from_store = e.from_store;
        es.protected_env = e.from_store && is_protected(e.name);
        if (auto it = ptrs->find(e.name); e.from_store && it != ptrs->end())
            es.release = it->second;
        st.environments.push_back(std::move(es));
    }
    auto p = db_->pending(s.name);
    if (!p) return p.error();
    if (*p) {
        auto o = outcome_of(s, **p, false);
        if (!o) return o.error();
        st.pending = std::move(*o);
    }
    return st;
}

Result<std::vector<SiteStatus>> ServiceImpl::status() {
    auto snap = sites();
    std::vector<SiteStatus> out;
    for (const auto& [name, s] : *snap) {
        auto st = status_of(s);
        if (!st) return st.error();
        out.push_back(std::move(*st));
    }
    return out;
}

Result<SiteStatus> ServiceImpl::status(std::string_view site) {
    auto s = find_site(site);
    if (!s) return s.error();
    return status_of(*s);
}

}  // namespace internal

Result<std::unique_ptr<ReleaseService>> ReleaseService::open(store::Store& store, Catalog& catalog,
                                                             ReleaseSettings settings,
                                                             ServiceOptions opts) {
    if (settings.db_path.empty())
        return make_error(Errc::kInvalidArgument, "release: no database path");
    if (settings.keep < 1) settings.keep = 1;
    auto db = internal::ReleaseDb::open(settings.db_path, 10000);
    if (!db) return db.error();
    return std::unique_ptr<ReleaseService>(std::make_unique<internal::ServiceImpl>(
        store, catalog, std::move(settings), std::move(opts), std::move(*db)));
}

}  // namespace moat::release

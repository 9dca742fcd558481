#pragma once
// The ReleaseService implementation, split by job over service*.cc: service.cc (open, sites,
// S3 writes, status), service_query.cc (read-only calls, invalidation), service_deploy.cc
// (missing/upload/deploy/build_from_prefix), service_promote.cc (promotion, approval,
// rollback, pointer moves, retention). Private to release/.
//
// Locking: mu_ serialises every change (one global mutex: changes are rare and short next to
// the compression they may wait for). Reads go to the database directly (WAL readers). The
// site table is an immutable snapshot swapped under sites_mu_.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "release/internal/mirror_worker.h"
#include "release/internal/release_db.h"
#include "release/internal/settler.h"
#include "release/internal/variants.h"
#include "release/service.h"

namespace moat::release::internal {

using Sites = std::map<std::string, site::SiteSettings, std::less<>>;

std::int64_t now_ms();
Clock::time_point from_ms(std::int64_t ms);
std::string holder_of(std::string_view site, std::string_view id);
// "<env>/<site>/": where an environment's files live in the content bucket.
std::string prefix_of(std::string_view env, std::string_view site);
inline constexpr std::string_view kContentBucket = "content";

class ServiceImpl final : public ReleaseService {
public:
    ServiceImpl(store::Store& store, Catalog& catalog, ReleaseSettings settings,
                ServiceOptions opts, std::unique_ptr<ReleaseDb> db);
    ~ServiceImpl() override;

    Result<void> set_sites(std::vector<site::SiteSettings> sites) override;
    void start() override;
    void stop() override;
    void on_s3_write(std::string_view bucket, std::string_view key) override;
    Result<std::vector<SiteStatus>> status() override;
    Result<SiteStatus> status(std::string_view site) override;
    Result<std::vector<std::string>> missing(std::string_view site, std::string_view env,
                                             const std::vector<DeployFile>& files) override;
    Result<store::ObjectInfo> upload(std::string_view site, std::string_view env,
                                     const DeployFile& file, store::BodySource& body,
                                     std::string_view by) override;
    Result<ReleaseInfo> deploy(std::string_view site, std::string_view env,
                               const std::vector<DeployFile>& files, std::string_view by,
                               bool force) override;
    Result<ReleaseInfo> build_from_prefix(std::string_view site, std::string_view env,
                                          std::string_view by) override;
    Result<std::vector<ReleaseInfo>> releases(std::string_view site) override;
    Result<ReleaseInfo> release(std::string_view site, std::string_view id) override;
    Result<Manifest> manifest(std::string_view site, std::string_view id) override;
    Result<std::vector<PointerMove>> history(std::string_view site) override;
    Result<Diff> diff(std::string_view site, std::string_view from, std::string_view to) override;
    Result<PromoteOutcome> promote(std::string_view site, std::string_view from,
                                   std::string_view release, std::string_view by,
                                   bool force) override;
    Result<PromoteOutcome> approve(std::string_view site, std::string_view release,
                                   std::string_view by, bool force) override;
    Result<void> reject(std::string_view site, std::string_view release, std::string_view by,
                        std::string_view reason) override;
    Result<ReleaseInfo> rollback(std::string_view site, std::string_view env, std::string_view to,
                                 std::string_view by) override;
    Result<Invalidation> invalidate(std::string_view site, std::string_view env,
                                    const std::vector<std::string>& paths,
                                    std::string_view by) override;
    Result<int> prune(std::string_view site) override;

private:
    // Sites.
    std::shared_ptr<const Sites> sites() const;
    Result<site::SiteSettings> find_site(std::string_view name) const;
    // A configured environment served from the store (kUnknownEnvironment otherwise).
    Result<const site::Environment*> store_env(const site::SiteSettings& s,
                                               std::string_view env) const;
    // A store environment that deploys and S3 uploads may change (kProtectedEnvironment).
    Result<void> writable(const site::SiteSettings& s, std::string_view env) const;
    bool is_protected(std::string_view env) const { return env == settings_.protected_env; }
    // kPolicy when opts_.policy_check refuses the site; with `force`, the refusal is logged
    // (who overrode what) and the call goes on. `by`, `action`: for that log line.
    Result<void> check_policy(const site::SiteSettings& s, bool force, std::string_view action,
                              std::string_view by) const;
    std::string url_of(const site::SiteSettings& s, const site::Environment& e) const;

    // Releases.
    Result<ReleaseRow> load_row(std::string_view site, std::string_view id);  // kUnknownRelease
    Result<Manifest> load_manifest(const ReleaseRow& row);
    Result<ReleaseInfo> info_of(const ReleaseRow& row);
    static ReleaseInfo info_of(const ReleaseRow& row,
                               const std::map<std::string, std::string>& ptrs);
    ManifestEntry entry_of(const store::ObjectInfo& o, std::string path,
                           std::string_view type) const;

    // Changes (mu_ held).
    Result<ReleaseInfo> build_locked(const site::SiteSettings& s, std::string_view env,
                                     std::string_view by);
    // Variants, manifest, and (unless it equals the current one) a recorded, held release that
    // env then points at.
    Result<ReleaseInfo> finish_release(const site::SiteSettings& s, std::string_view env,
                                       std::vector<ManifestEntry> entries, std::string_view source,
                                       std::string_view by);
    // Activates, moves the pointer (history), mirrors under content/<env>/<site>/ when
    // `mirror`, prunes.
    Result<void> move(const site::SiteSettings& s, std::string_view env, const ReleaseRow& row,
                      const Manifest& m, std::string_view action, std::string_view by, bool mirror);
    Result<PromoteOutcome> promote_now(const site::SiteSettings& s, const ReleaseRow& row,
                                       std::string_view by, std::string requested_by,
                                       std::vector<std::string> approvers);
    Result<int> prune_locked(std::string_view site);
    Result<PromoteOutcome> outcome_of(const site::SiteSettings& s, const PromotionRow& p,
                                      bool promoted);
    Result<SiteStatus> status_of(const site::SiteSettings& s);

    store::Store& store_;
    Catalog& catalog_;
    const ReleaseSettings settings_;
    const ServiceOptions opts_;
    std::unique_ptr<ReleaseDb> db_;
    VariantMaker variants_;

    std::mutex mu_;
    std::set<std::pair<std::string, std::string>> active_;  // (site, env) set up (mu_)

    mutable std::mutex sites_mu_;
    std::shared_ptr<const Sites> sites_;

    MirrorWorker mirrorer_;  // the S3 view of promotions and rollbacks, after the answer
    Settler settler_;        // last: its thread stops before the rest goes away
};

}  // namespace moat::release::internal

#pragma once
// ReleaseService: releases, environment pointers, promotion with approvals, rollback,
// retention and invalidation, over the store. The admin API calls it (after authenticating and
// checking roles and TOTP); the app feeds it S3 writes. Persistent state (releases, manifests,
// pointers and their history, promotion requests, approvals, invalidations) is a SQLite file
// (ReleaseSettings::db_path); the objects stay in the store, held while a kept release names
// them.
//
// The seed's layout stays visible to S3 users: an environment's release is mirrored under
// content/<env>/<site>/ (deploys write there; promotion and rollback make the target
// environment's keys name the release's versions by Store::copy, which shares blobs).
//
// Threads: every method may block (store, SQLite, compression); call from control-plane
// threads, never from an edge worker. Methods are thread-safe; changes to one site are
// serialised.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "release/catalog.h"
#include "release/manifest.h"
#include "release/settings.h"
#include "site/settings.h"
#include "store/store.h"

namespace moat::release {

// Error::reason values (Error::code keeps the general class).
enum class Reason : int {
    kNone = 0,
    kUnknownSite = 1,       // kNotFound
    kUnknownEnvironment,    // kNotFound (or not served from the store)
    kUnknownRelease,        // kNotFound
    kNoRelease,             // kNotFound: the environment points at nothing yet
    kProtectedEnvironment,  // kDenied: deploy/upload into production
    kSelfApproval,          // kDenied: the requester approving its own promotion
    kNotPending,            // kConflict: approve/reject without a pending request
    kMissingContent,        // kConflict: deploy names content the store lacks
    kHashMismatch,          // kInvalidArgument: an upload's bytes differ from its sha256
    kBadPath,               // kInvalidArgument
    kNeverLive,             // kDenied: rollback of production to a release never live there
    kPolicy,                // kDenied: the site's header policy is below its min_grade
};
inline Error release_error(Errc code, Reason reason, std::string detail) {
    Error e{code, std::move(detail)};
    e.reason = static_cast<int>(reason);
    return e;
}
inline Reason reason_of(const Error& e) { return static_cast<Reason>(e.reason); }

using Clock = std::chrono::system_clock;

struct ReleaseInfo {
    std::string id;  // "r<n>", n counting per site from 1
    std::string site;
    std::string manifest_hash;
    std::string source;  // "deploy", "s3" (uploads under content/<env>/<site>/), "restore"
    std::string created_by;
    Clock::time_point created;
    std::uint64_t files = 0, bytes = 0;
    std::vector<std::string> environments;  // environments pointing at it now
};

// One move of an environment pointer (deploy, promote, rollback), newest first in history().
struct PointerMove {
    std::string env;
    std::string release_id;  // now served
    std::string previous;    // served before ("" when none)
    std::string action;      // "deploy", "s3", "promote", "rollback"
    std::string by;
    Clock::time_point at;
};

struct DeployFile {
    std::string path;  // clean relative path: "docs/index.html"
    std::string sha256;
    std::uint64_t size = 0;
    std::string content_type;  // empty: from the extension
};

struct PromoteOutcome {
    bool promoted = false;  // false: waiting for approvals
    ReleaseInfo release;
    int approvals = 0;  // distinct approvers so far
    int required = 0;   // the site's policy
    std::string requested_by;
    std::vector<std::string> approvers;
};

struct Invalidation {
    std::string id;  // "I<n>"
    std::string site, env;
    std::vector<std::string> paths;
    std::string status;  // "Completed"
    std::string by;
    Clock::time_point created;
};

struct EnvStatus {
    std::string name;
    std::string url;      // https://<host>[:port]/
    std::string release;  // "" when none
    bool from_store = false;
    bool protected_env = false;
};
struct SiteStatus {
    std::string site;
    int approvals_required = 0;
    std::vector<EnvStatus> environments;
    std::optional<PromoteOutcome> pending;  // a promotion waiting for approval
};

struct ServiceOptions {
    // Public HTTPS port, for the URLs printed after a deploy (":port" unless 443).
    std::uint16_t https_port = 443;
    // Refuses a deploy or promotion whose site fails a policy (issue 7's header grade):
    // returns an error message, or empty when fine. May be empty (no check).
    std::function<std::string(const site::SiteSettings&)> policy_check;
};

class ReleaseService {
public:
    // Opens (creating) the release database. `store` and `catalog` must outlive the service.
    static Result<std::unique_ptr<ReleaseService>> open(store::Store& store, Catalog& catalog,
                                                        ReleaseSettings settings,
                                                        ServiceOptions opts);
    virtual ~ReleaseService() = default;

    // The sites (from the config; again on every reload). Environments with from_store are
    // managed here. Then activates, in the catalog, the release each of them points at (bodies
    // loaded before the first request can see them). Blocking.
    virtual Result<void> set_sites(std::vector<site::SiteSettings> sites) = 0;
    // Starts / stops the thread that turns S3 writes into releases (settle, settle_max).
    virtual void start() = 0;
    virtual void stop() = 0;

    // An S3 write (PUT, DELETE, Complete, Copy) to bucket/key completed. Cheap; keys outside
    // content/<env>/<site>/ of a store-served, unprotected environment are ignored.
    virtual void on_s3_write(std::string_view bucket, std::string_view key) = 0;

    virtual Result<std::vector<SiteStatus>> status() = 0;
    virtual Result<SiteStatus> status(std::string_view site) = 0;

    // Deploy, step 1: which of these files' contents (by sha256) the store lacks.
    virtual Result<std::vector<std::string>> missing(std::string_view site, std::string_view env,
                                                     const std::vector<DeployFile>& files) = 0;
    // Deploy, step 2 (once per missing content): stores the bytes as the next version of
    // content/<env>/<site>/<path>. The bytes must hash to `sha256` (else kHashMismatch and
    // nothing is kept). Not served until step 3.
    virtual Result<store::ObjectInfo> upload(std::string_view site, std::string_view env,
                                             const DeployFile& file, store::BodySource& body,
                                             std::string_view by) = 0;
    // Deploy, step 3: makes the release of exactly these files (every content must be in the
    // store: kMissingContent names the first that is not), mirrors it under
    // content/<env>/<site>/ (removed paths get delete markers), makes compressed variants of
    // new contents, and points env at it. Idempotent: the same files as the current release
    // make no new release and return the current one. Refused (kPolicy) when the site fails
    // ServiceOptions::policy_check, unless `force` (an admin's override; the caller checks who
    // may and records it): a forced call logs the failing check and goes on.
    virtual Result<ReleaseInfo> deploy(std::string_view site, std::string_view env,
                                       const std::vector<DeployFile>& files, std::string_view by,
                                       bool force = false) = 0;
    // A release of what content/<env>/<site>/ holds now (the S3 path; also `moat invalidate`
    // of a store-served environment). No new release when nothing changed.
    virtual Result<ReleaseInfo> build_from_prefix(std::string_view site, std::string_view env,
                                                  std::string_view by) = 0;

    virtual Result<std::vector<ReleaseInfo>> releases(std::string_view site) = 0;  // newest first
    virtual Result<ReleaseInfo> release(std::string_view site, std::string_view id) = 0;
    virtual Result<Manifest> manifest(std::string_view site, std::string_view id) = 0;
    virtual Result<std::vector<PointerMove>> history(std::string_view site) = 0;  // newest first
    virtual Result<Diff> diff(std::string_view site, std::string_view from,
                              std::string_view to) = 0;

    // Promotion of `from`'s current release (or `release` when given) to the protected
    // environment. With the site's policy at 0 approvals, or approvals already given for that
    // release and manifest hash, it happens now; else a pending request is recorded (one per
    // site: a newer request replaces it). `force`: as for deploy.
    virtual Result<PromoteOutcome> promote(std::string_view site, std::string_view from,
                                           std::string_view release, std::string_view by,
                                           bool force = false) = 0;
    // An approval of the pending promotion of `release` (bound to its manifest hash). The
    // requester cannot approve (kSelfApproval). When the count reaches the policy, the
    // promotion happens now (promoted = true), unless the policy check refuses it (kPolicy;
    // the approval stays recorded) and `force` (as for deploy) is false.
    virtual Result<PromoteOutcome> approve(std::string_view site, std::string_view release,
                                           std::string_view by, bool force = false) = 0;
    virtual Result<void> reject(std::string_view site, std::string_view release,
                                std::string_view by, std::string_view reason) = 0;
    // Points env back at `to`, or, when empty, at the release it served before the current one.
    // For the protected environment `to` must have been live there before (kNeverLive).
    virtual Result<ReleaseInfo> rollback(std::string_view site, std::string_view env,
                                         std::string_view to, std::string_view by) = 0;

    // CloudFront's invalidation paths: each starts with '/', '*' only as the last character,
    // at most 3000 paths. Store-served environments are rebuilt from their S3 prefix now
    // (live testing); folder environments have no cache that can be stale (FileCache is
    // never stale), so only the record is kept.
    virtual Result<Invalidation> invalidate(std::string_view site, std::string_view env,
                                            const std::vector<std::string>& paths,
                                            std::string_view by) = 0;

    // Drops releases beyond ReleaseSettings::keep (never one an environment points at or a
    // pending request names) and their holds. Runs after every pointer move; returns the
    // number pruned.
    virtual Result<int> prune(std::string_view site) = 0;
};

}  // namespace moat::release

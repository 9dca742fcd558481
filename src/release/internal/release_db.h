#pragma once
// The release database (ReleaseSettings::db_path): releases with their canonical manifests,
// environment pointers and their history, promotion requests, approvals, invalidations, and
// the cache of compressed variants. SQLite in WAL mode with synchronous=FULL, through the
// store's small connection helpers (store/internal/db.h: generic RAII over the C API).
// Private to release/. Thread-safe (a pool of connections); each call is one statement or
// one IMMEDIATE transaction. Times are milliseconds since the epoch.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/internal/db.h"

namespace moat::release::internal {

struct ReleaseRow {
    std::string site;
    std::string id;
    std::int64_t seq = 0;
    std::string manifest_hash;
    std::string manifest_json;  // empty in list results
    std::string source;
    std::string created_by;
    std::int64_t created_ms = 0;
    std::uint64_t files = 0, bytes = 0;
};

struct MoveRow {
    std::string env, release_id, previous, action, by;
    std::int64_t at_ms = 0;
};

struct PromotionRow {
    std::string site, release_id, manifest_hash, requested_by;
    std::int64_t requested_at_ms = 0;
};

// One compressed form of a content; key empty: compressed once, nothing was smaller.
struct VariantRow {
    std::string encoding, key, version_id;
    std::uint64_t size = 0;
};

class ReleaseDb {
public:
    static Result<std::unique_ptr<ReleaseDb>> open(const std::string& path, int busy_timeout_ms);

    // Releases. next_seq allocates the next number of a site (never reused, even after prune).
    Result<std::int64_t> next_seq(std::string_view site);
    Result<void> add_release(const ReleaseRow& r);
    Result<std::optional<ReleaseRow>> release(std::string_view site, std::string_view id);
    Result<std::vector<ReleaseRow>> releases(std::string_view site);  // newest first, no JSON
    // Deletes the release and the approvals naming it.
    Result<void> delete_release(std::string_view site, std::string_view id);

    // Pointers and their history.
    Result<std::map<std::string, std::string>> pointers(std::string_view site);  // env -> id
    Result<std::string> pointer(std::string_view site, std::string_view env);    // "" if none
    // Sets the pointer and appends the history row, in one transaction.
    Result<void> move_pointer(std::string_view site, const MoveRow& m);
    Result<std::vector<MoveRow>> history(std::string_view site);  // newest first
    Result<std::vector<std::string>> history_releases(std::string_view site,
                                                      std::string_view env);  // newest first

    // Promotion requests (at most one pending per site) and approvals.
    Result<std::optional<PromotionRow>> pending(std::string_view site);
    // Marks any pending request of the site superseded and records this one as pending.
    Result<void> request_promotion(const PromotionRow& p);
    // Moves the pending request for `release_id` to `state` ("done", "rejected").
    Result<void> finish_promotion(std::string_view site, std::string_view release_id,
                                  std::string_view state, std::string_view note);
    Result<void> add_approval(std::string_view site, std::string_view release_id,
                              std::string_view hash, std::string_view principal,
                              std::int64_t at_ms);
    Result<std::vector<std::string>> approvers(std::string_view site, std::string_view release_id,
                                               std::string_view hash);  // oldest first
    Result<void> delete_approvals(std::string_view site, std::string_view release_id,
                                  std::string_view hash);

    Result<std::int64_t> add_invalidation(std::string_view site, std::string_view env,
                                          std::string_view paths_json, std::string_view by,
                                          std::int64_t at_ms);

    // Variants cache, by content.
    Result<std::vector<VariantRow>> variants(std::string_view sha256);
    Result<void> add_variants(std::string_view sha256, const std::vector<VariantRow>& rows);
    Result<void> delete_variants(std::string_view sha256);

private:
    ReleaseDb(const std::string& path, int busy) : pool_(path, busy) {}
    store::internal::Pool pool_;
};

}  // namespace moat::release::internal

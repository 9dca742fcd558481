// LocalStore: lifecycle rules, garbage collection, scrub and master-key rotation.
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "store/internal/codec.h"
#include "store/internal/crypto.h"
#include "store/internal/fsutil.h"
#include "store/local_store.h"

namespace moat::store {

using internal::Conn;
using internal::Txn;

namespace {

std::string blob_key_aad(std::string_view hash_hex) {
    return "moat blob data key " + std::string(hash_hex);
}
std::string access_key_aad(std::string_view id) { return "moat access key " + std::string(id); }

constexpr std::size_t kTxnBatch = 200;

// SQL: the version row `versions` is held by no one (store.h: lifecycle skips held versions;
// the rule applies again on a later run once the hold is gone). A macro so the statements stay
// string literals (Conn::prepare caches by address).
#define MOAT_NOT_HELD                                                                  \
    " NOT EXISTS (SELECT 1 FROM holds h WHERE h.bucket = versions.bucket AND h.key = " \
    "versions.key AND h.version_id = versions.vid) "

}  // namespace

// ---- lifecycle -------------------------------------------------------------------------------

Result<void> LocalStore::apply_lifecycle(Clock::time_point now) {
    auto all = buckets();
    if (!all) return all.error();
    for (const auto& b : *all) {
        auto rules = lifecycle(b.name);
        if (!rules) {
            if (reason_of(rules.error()) == Reason::kNoSuchLifecycle ||
                reason_of(rules.error()) == Reason::kNoSuchBucket)
                continue;
            return rules.error();
        }
        auto c = pool_.lease();
        if (!c) return c.error();
        MOAT_TRY(lifecycle_bucket(**c, b.name, b.versioning, *rules, internal::to_ns(now)));
    }
    return {};
}

// Due times are "days" after the event, a day being settings_.day long (tests shorten it).
// Unlike AWS we do not round up to the next midnight UTC: with a shortened day that rounding
// would be meaningless, and acting up to a day later changes nothing a user relies on.
// Candidates are read first, then acted on in short transactions that re-check each one, so
// a PUT racing the job is never undone.
Result<void> LocalStore::lifecycle_bucket(Conn& c, const std::string& bucket, Versioning v,
                                          const std::vector<LifecycleRule>& rules,
                                          std::int64_t now) {
    const std::int64_t day_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(settings_.day).count();
    auto due = [&](int days) { return now - static_cast<std::int64_t>(days) * day_ns; };
    auto batches = [&](const std::vector<std::int64_t>& rows,
                       const std::function<Result<void>(std::int64_t)>& act) -> Result<void> {
        for (std::size_t i = 0; i < rows.size(); i += kTxnBatch) {
            Txn t(c);
            MOAT_TRY(t.begin());
            for (std::size_t j = i; j < rows.size() && j < i + kTxnBatch; ++j)
                MOAT_TRY(act(rows[j]));
            MOAT_TRY(t.commit());
        }
        return {};
    };
    for (const auto& r : rules) {
        if (!r.enabled) continue;
        std::string upper = r.prefix + "\xff";
        if (r.expiration_days) {
            // Expiration of current versions: a delete marker when versioned, else removal.
            std::vector<std::int64_t> rows;
            auto s = c.prepare(
                "SELECT id FROM versions WHERE bucket = ? AND latest = 1 AND marker = 0 "
                "AND key >= ? AND key < ? AND mtime <= ? AND" MOAT_NOT_HELD);
            s.bind(1, bucket).bind(2, r.prefix).bind(3, upper).bind(4, due(*r.expiration_days));
            for (;;) {
                auto x = s.step();
                if (!x) return x.error();
                if (!*x) break;
                rows.push_back(s.i64(0));
            }
            MOAT_TRY(batches(rows, [&](std::int64_t row) -> Result<void> {
                std::string key;
                {
                    auto q = c.prepare(
                        "SELECT key FROM versions WHERE id = ? AND latest = 1 AND marker = 0 "
                        "AND" MOAT_NOT_HELD);
                    q.bind(1, row);
                    auto x = q.step();
                    if (!x) return x.error();
                    if (!*x) return {};
                    key = q.text(0);
                }
                if (v == Versioning::kUnversioned) return remove_row(c, row);
                NewVersion nv;
                nv.marker = true;
                nv.attrs = internal::encode_attrs({});
                auto added = add_version(c, bucket, key, v, nv, now);
                if (!added) return added.error();
                return {};
            }));
        }
        if (r.noncurrent_days) {
            // NoncurrentVersionExpiration: counted from when the version became noncurrent;
            // NewerNoncurrentVersions keeps that many of the newest noncurrent ones regardless.
            // Held versions still count among those newest (the rule's meaning does not change
            // with holds); they are only never removed.
            std::vector<std::int64_t> rows;
            auto s = c.prepare("SELECT id, key, noncurrent_since, NOT" MOAT_NOT_HELD
                               "FROM versions WHERE bucket = ? AND latest = 0 "
                               "AND key >= ? AND key < ? ORDER BY key, id DESC");
            s.bind(1, bucket).bind(2, r.prefix).bind(3, upper);
            std::string cur;
            int rank = 0;
            int keep = r.newer_noncurrent_versions.value_or(0);
            for (;;) {
                auto x = s.step();
                if (!x) return x.error();
                if (!*x) break;
                std::string key = s.text(1);
                if (key != cur) {
                    cur = key;
                    rank = 0;
                }
                if (rank++ >= keep && !s.is_null(2) && s.i64(2) <= due(*r.noncurrent_days) &&
                    s.i64(3) == 0)
                    rows.push_back(s.i64(0));
            }
            MOAT_TRY(batches(rows, [&](std::int64_t row) -> Result<void> {
                bool still = false;
                {
                    auto q = c.prepare(
                        "SELECT 1 FROM versions WHERE id = ? AND latest = 0 AND" MOAT_NOT_HELD);
                    q.bind(1, row);
                    auto x = q.step();
                    if (!x) return x.error();
                    still = *x;
                }
                return still ? remove_row(c, row) : Result<void>();
            }));
        }
        if (r.expired_object_delete_marker) {
            // A delete marker that is the only version left of its key.
            std::vector<std::int64_t> rows;
            auto s = c.prepare(
                "SELECT v.id FROM versions v WHERE v.bucket = ? AND v.latest = 1 AND v.marker = 1 "
                "AND v.key >= ? AND v.key < ? AND NOT EXISTS (SELECT 1 FROM versions w "
                "WHERE w.bucket = v.bucket AND w.key = v.key AND w.id != v.id) AND NOT EXISTS "
                "(SELECT 1 FROM holds h WHERE h.bucket = v.bucket AND h.key = v.key AND "
                "h.version_id = v.vid)");
            s.bind(1, bucket).bind(2, r.prefix).bind(3, upper);
            for (;;) {
                auto x = s.step();
                if (!x) return x.error();
                if (!*x) break;
                rows.push_back(s.i64(0));
            }
            MOAT_TRY(batches(rows, [&](std::int64_t row) -> Result<void> {
                bool alone = false;
                {
                    auto q = c.prepare(
                        "SELECT 1 FROM versions v WHERE v.id = ? AND v.latest = 1 AND "
                        "v.marker = 1 AND NOT EXISTS (SELECT 1 FROM versions w WHERE "
                        "w.bucket = v.bucket AND w.key = v.key AND w.id != v.id) AND NOT EXISTS "
                        "(SELECT 1 FROM holds h WHERE h.bucket = v.bucket AND h.key = v.key AND "
                        "h.version_id = v.vid)");
                    q.bind(1, row);
                    auto x = q.step();
                    if (!x) return x.error();
                    alone = *x;
                }
                return alone ? remove_row(c, row) : Result<void>();
            }));
        }
        if (r.abort_multipart_days) {
            std::vector<std::string> ids;
            auto s = c.prepare(
                "SELECT upload_id FROM uploads WHERE bucket = ? AND key >= ? AND key < ? "
                "AND initiated <= ?");
            s.bind(1, bucket)
                .bind(2, r.prefix)
                .bind(3, upper)
                .bind(4, due(*r.abort_multipart_days));
            for (;;) {
                auto x = s.step();
                if (!x) return x.error();
                if (!*x) break;
                ids.push_back(s.text(0));
            }
            for (const auto& id : ids) {
                Txn t(c);
                MOAT_TRY(t.begin());
                auto dp = c.prepare("DELETE FROM parts WHERE upload_id = ?");
                MOAT_TRY(dp.bind(1, id).run());
                auto du = c.prepare("DELETE FROM uploads WHERE upload_id = ?");
                MOAT_TRY(du.bind(1, id).run());
                MOAT_TRY(t.commit());
            }
        }
    }
    return {};
}

// ---- garbage collection ----------------------------------------------------------------------

Result<std::uint64_t> LocalStore::collect_garbage() {
    std::unique_lock maint(maint_mu_);
    auto c = pool_.lease();
    if (!c) return c.error();
    struct Dead {
        std::int64_t id;
        std::string hash;
        bool file;
        std::string file_id;
    };
    std::vector<Dead> dead;
    {
        auto s = (*c)->prepare(
            "SELECT id, hash, data IS NULL, file_id FROM blobs b WHERE "
            "NOT EXISTS (SELECT 1 FROM segments g WHERE g.blob = b.id) AND "
            "NOT EXISTS (SELECT 1 FROM parts p WHERE p.blob = b.id)");
        std::lock_guard pins(pin_mu_);
        for (;;) {
            auto r = s.step();
            if (!r) return r.error();
            if (!*r) break;
            // A reader still streaming a version deleted meanwhile keeps its blobs.
            if (pinned_.count(s.i64(0))) continue;
            dead.push_back(Dead{s.i64(0), s.text(1), s.i64(2) != 0, s.text(3)});
        }
    }
    for (std::size_t i = 0; i < dead.size(); i += kTxnBatch) {
        Txn t(**c);
        MOAT_TRY(t.begin());
        for (std::size_t j = i; j < dead.size() && j < i + kTxnBatch; ++j) {
            auto d = (*c)->prepare("DELETE FROM blobs WHERE id = ?");
            MOAT_TRY(d.bind(1, dead[j].id).run());
        }
        MOAT_TRY(t.commit());
        // Rows first, then files: a crash in between leaves orphan files, which the sweep
        // below removes later, never a row without its file.
        for (std::size_t j = i; j < dead.size() && j < i + kTxnBatch; ++j) {
            if (dead[j].file) ::unlink(blob_path(dead[j].hash).c_str());
            key_cache_.erase(dead[j].file_id);    // the key of data that is gone: wipe it
            plain_cache_.erase(dead[j].file_id);  // and its plaintext
        }
    }
    MOAT_TRY(sweep_orphans());
    return static_cast<std::uint64_t>(dead.size());
}

// Temp files and blob files no row names, older than orphan_grace (a crash between rename and
// commit, or between a GC commit and its unlink). Caller holds maint_mu_ exclusively.
Result<void> LocalStore::sweep_orphans() {
    auto old_enough = [&](const std::string& path) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return false;
        return std::chrono::system_clock::now() -
                   std::chrono::system_clock::from_time_t(st.st_mtime) >=
               settings_.orphan_grace;
    };
    auto each = [](const std::string& dir, const std::function<void(const std::string&)>& fn) {
        DIR* d = ::opendir(dir.c_str());
        if (!d) return;
        while (auto* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") fn(n);
        }
        ::closedir(d);
    };
    std::string tmp = settings_.dir + "/tmp";
    each(tmp, [&](const std::string& n) {
        std::string p = tmp + "/" + n;
        if (old_enough(p)) ::unlink(p.c_str());
    });
    auto c = pool_.lease();
    if (!c) return c.error();
    Error failed{};
    bool ok = true;
    for (int i = 0; i < 256 && ok; ++i) {
        char sub[4];
        std::snprintf(sub, sizeof sub, "%02x", i);
        std::string dir = settings_.dir + "/blobs/" + sub;
        each(dir, [&](const std::string& n) {
            if (!ok) return;
            auto s = (*c)->prepare("SELECT 1 FROM blobs WHERE hash = ? AND data IS NULL");
            s.bind(1, n);
            auto r = s.step();
            if (!r) {
                failed = r.error();
                ok = false;
                return;
            }
            std::string p = dir + "/" + n;
            if (!*r && old_enough(p)) ::unlink(p.c_str());
        });
    }
    if (!ok) return failed;
    return {};
}

// ---- scrub -----------------------------------------------------------------------------------

Result<ScrubReport> LocalStore::scrub() {
    std::shared_lock maint(maint_mu_);  // GC waits, so nothing vanishes under the scrub
    auto c = pool_.lease();
    if (!c) return c.error();
    ScrubReport rep;
    auto s = (*c)->prepare(
        "SELECT hash, size, file_id, key_gen, sealed_key, data, data IS NULL FROM blobs "
        "ORDER BY id");
    std::string buf(1 << 20, '\0');
    for (;;) {
        auto r = s.step();
        if (!r) return r.error();
        if (!*r) break;
        internal::BlobRef ref;
        ref.hash_hex = s.text(0);
        ref.size = static_cast<std::uint64_t>(s.i64(1));
        ref.file_id = s.text(2);
        ++rep.blobs;
        auto key = unseal(s.i64(3), blob_key_aad(ref.hash_hex), s.text(4));
        if (!key) {
            rep.damaged.push_back(ref.hash_hex + ": data key: " + key.error().detail);
            continue;
        }
        ref.data_key = std::move(*key);
        if (s.i64(6)) {
            ref.path = blob_path(ref.hash_hex);
            if (::access(ref.path.c_str(), F_OK) != 0) {
                rep.missing.push_back(ref.hash_hex + ": file is missing");
                continue;
            }
        } else {
            ref.inline_bytes = s.text(5);
        }
        auto reader = internal::BlobReader::open(ref);
        if (!reader) {
            rep.damaged.push_back(ref.hash_hex + ": " + reader.error().detail);
            continue;
        }
        auto sha = internal::Digest::sha256();
        std::uint64_t off = 0;
        std::string err;
        while (off < ref.size) {
            auto n = (*reader)->read_at(off, buf.data(), buf.size());
            if (!n) {
                err = n.error().detail;
                break;
            }
            sha.update(buf.data(), *n);
            off += *n;
        }
        rep.bytes += off;
        if (!err.empty())
            rep.damaged.push_back(ref.hash_hex + ": " + err);
        else if (internal::to_hex(sha.finish()) != ref.hash_hex)
            rep.damaged.push_back(ref.hash_hex + ": content does not match its SHA-256");
    }
    auto m = (*c)->prepare(
        "SELECT DISTINCT blob FROM segments WHERE blob NOT IN (SELECT id FROM blobs) UNION "
        "SELECT DISTINCT blob FROM parts WHERE blob NOT IN (SELECT id FROM blobs)");
    for (;;) {
        auto r = m.step();
        if (!r) return r.error();
        if (!*r) break;
        rep.missing.push_back("blob row " + std::to_string(m.i64(0)) + ": referenced, no record");
    }
    return rep;
}

// ---- master key rotation ---------------------------------------------------------------------

// 1. the key file gains a new key (both on disk), 2. one transaction re-seals every data key
// and access-key secret under it, 3. the file drops the old key. A crash after 1 or 2 leaves a
// file with both keys, and every sealed value names the key that sealed it: nothing is lost;
// the next rotation finishes the job.
Result<std::uint64_t> LocalStore::rotate_master_key() {
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
        return make_error(Errc::kConflict,
                          "the store is open in another process (stop the server to rotate)");
    struct Relock {
        int fd;
        ~Relock() { ::flock(fd, LOCK_SH); }
    } relock{lock_fd_};
    std::unique_lock maint(maint_mu_);
    auto gen = keys_.add_key();
    if (!gen) return gen.error();
    std::string new_key = *keys_.key(*gen);
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    struct Row {
        std::string id;
        std::int64_t gen;
        std::string sealed;
    };
    auto reseal = [&](const char* select, const char* update,
                      auto aad_of) -> Result<std::uint64_t> {
        std::vector<Row> rows;
        {
            auto s = (*c)->prepare(select);
            for (;;) {
                auto r = s.step();
                if (!r) return r.error();
                if (!*r) break;
                rows.push_back(Row{s.text(0), s.i64(1), s.text(2)});
            }
        }
        for (const auto& row : rows) {
            if (row.gen == *gen) continue;
            auto plain = unseal(row.gen, aad_of(row.id), row.sealed);
            if (!plain) return plain.error();
            auto u = (*c)->prepare(update);
            u.bind(1, *gen).bind_blob(2, internal::seal_small(new_key, aad_of(row.id), *plain));
            u.bind(3, row.id);
            MOAT_TRY(u.run());
        }
        return static_cast<std::uint64_t>(rows.size());
    };
    auto blobs =
        reseal("SELECT hash, key_gen, sealed_key FROM blobs",
               "UPDATE blobs SET key_gen = ?, sealed_key = ? WHERE hash = ?", blob_key_aad);
    if (!blobs) return blobs.error();
    auto secrets = reseal("SELECT id, key_gen, sealed_secret FROM access_keys",
                          "UPDATE access_keys SET key_gen = ?, sealed_secret = ? WHERE id = ?",
                          access_key_aad);
    if (!secrets) return secrets.error();
    MOAT_TRY(t.commit());
    MOAT_TRY(keys_.drop_old_keys());
    return *blobs;
}

}  // namespace moat::store

#include "release/internal/release_db.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace moat::release::internal {

namespace {

using store::internal::Conn;
using store::internal::Stmt;
using store::internal::Txn;

// "by" is an SQL keyword, hence by_principal.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS seqs(site TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS releases(
    site TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, manifest_hash TEXT NOT NULL,
    manifest_json BLOB NOT NULL, source TEXT NOT NULL, created_by TEXT NOT NULL,
    created INTEGER NOT NULL, files INTEGER NOT NULL, bytes INTEGER NOT NULL,
    PRIMARY KEY(site, seq));
CREATE UNIQUE INDEX IF NOT EXISTS releases_by_id ON releases(site, id);
CREATE TABLE IF NOT EXISTS pointers(
    site TEXT NOT NULL, env TEXT NOT NULL, release_id TEXT NOT NULL, PRIMARY KEY(site, env));
CREATE TABLE IF NOT EXISTS history(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, env TEXT NOT NULL,
    release_id TEXT NOT NULL, previous TEXT NOT NULL, action TEXT NOT NULL,
    by_principal TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS history_by_env ON history(site, env, seq);
CREATE TABLE IF NOT EXISTS promotions(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, release_id TEXT NOT NULL,
    manifest_hash TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at INTEGER NOT NULL,
    state TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS promotions_by_state ON promotions(site, state);
CREATE TABLE IF NOT EXISTS approvals(
    site TEXT NOT NULL, release_id TEXT NOT NULL, manifest_hash TEXT NOT NULL,
    principal TEXT NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY(site, release_id, manifest_hash, principal));
CREATE TABLE IF NOT EXISTS invalidations(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, env TEXT NOT NULL,
    paths TEXT NOT NULL, by_principal TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS variants(
    sha256 TEXT NOT NULL, encoding TEXT NOT NULL, key TEXT NOT NULL, version_id TEXT NOT NULL,
    size INTEGER NOT NULL, PRIMARY KEY(sha256, encoding));
)sql";

std::uint64_t u64(const Stmt& s, int col) { return static_cast<std::uint64_t>(s.i64(col)); }

std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

std::string text0(const Stmt& s) { return s.text(0); }

// Steps `s` to its end, calling `on_row(s)` at each row.
template <class F>
Result<void> each_row(Stmt& s, F on_row) {
    for (;;) {
        auto row = s.step();
        if (!row) return row.error();
        if (!*row) return {};
        on_row(s);
    }
}

// Every row of `s`, as `make(s)` reads it.
template <class F>
auto all_rows(Stmt& s, F make) -> Result<std::vector<decltype(make(s))>> {
    std::vector<decltype(make(s))> out;
    MOAT_TRY(each_row(s, [&](const Stmt& row) { out.push_back(make(row)); }));
    return out;
}

// The first row of `s` as `make(s)` reads it, nullopt when there is none.
template <class F>
auto first_row(Stmt& s, F make) -> Result<std::optional<decltype(make(s))>> {
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) return std::optional<decltype(make(s))>();
    return std::optional(make(s));
}

}  // namespace

Result<std::unique_ptr<ReleaseDb>> ReleaseDb::open(const std::string& path, int busy_timeout_ms) {
    // Made 0600 before SQLite opens it (SQLite would use the umask): who approved what is
    // nobody else's business.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return make_error(Errc::kIo, "release: create " + path + ": " + std::strerror(errno));
    ::close(fd);
    std::unique_ptr<ReleaseDb> db(new ReleaseDb(path, busy_timeout_ms));
    auto c = db->pool_.lease();
    if (!c) return c.error();
    MOAT_TRY((*c)->exec(kSchema));
    return db;
}

Result<std::int64_t> ReleaseDb::next_seq(std::string_view site) {
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    MOAT_TRY((*c)->prepare("INSERT INTO seqs(site, last) VALUES(?, 1) "
                           "ON CONFLICT(site) DO UPDATE SET last = last + 1")
                 .bind(1, site)
                 .run());
    auto s = (*c)->prepare("SELECT last FROM seqs WHERE site = ?");
    s.bind(1, site);
    auto seq = first_row(s, [](const Stmt& row) { return row.i64(0); });
    if (!seq) return seq.error();
    MOAT_TRY(t.commit());
    return seq->value_or(0);
}

Result<void> ReleaseDb::add_release(const ReleaseRow& r) {
    auto c = pool_.lease();
    if (!c) return c.error();
    return (*c)
        ->prepare(
            "INSERT INTO releases(site, seq, id, manifest_hash, manifest_json, source, "
            "created_by, created, files, bytes) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, r.site)
        .bind(2, r.seq)
        .bind(3, r.id)
        .bind(4, r.manifest_hash)
        .bind_blob(5, r.manifest_json)
        .bind(6, r.source)
        .bind(7, r.created_by)
        .bind(8, r.created_ms)
        .bind(9, i64(r.files))
        .bind(10, i64(r.bytes))
        .run();
}

// The columns both release queries start with: seq, id, manifest_hash, source, created_by,
// created, files, bytes.
#define MOAT_RELEASE_COLUMNS "seq, id, manifest_hash, source, created_by, created, files, bytes"
namespace {
ReleaseRow release_row(const Stmt& s, std::string_view site) {
    ReleaseRow r;
    r.site = std::string(site);
    r.seq = s.i64(0);
    r.id = s.text(1);
    r.manifest_hash = s.text(2);
    r.source = s.text(3);
    r.created_by = s.text(4);
    r.created_ms = s.i64(5);
    r.files = u64(s, 6);
    r.bytes = u64(s, 7);
    return r;
}
}  // namespace

Result<std::optional<ReleaseRow>> ReleaseDb::release(std::string_view site, std::string_view id) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT " MOAT_RELEASE_COLUMNS
                           ", manifest_json FROM releases WHERE site = ? AND id = ?");
    s.bind(1, site).bind(2, id);
    return first_row(s, [&](const Stmt& row) {
        ReleaseRow r = release_row(row, site);
        r.manifest_json = row.text(8);
        return r;
    });
}

Result<std::vector<ReleaseRow>> ReleaseDb::releases(std::string_view site) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT " MOAT_RELEASE_COLUMNS
                           " FROM releases WHERE site = ? ORDER BY seq DESC");
    s.bind(1, site);
    return all_rows(s, [&](const Stmt& row) { return release_row(row, site); });
}
#undef MOAT_RELEASE_COLUMNS

Result<void> ReleaseDb::delete_release(std::string_view site, std::string_view id) {
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    MOAT_TRY((*c)->prepare("DELETE FROM releases WHERE site = ? AND id = ?")
                 .bind(1, site)
                 .bind(2, id)
                 .run());
    MOAT_TRY((*c)->prepare("DELETE FROM approvals WHERE site = ? AND release_id = ?")
                 .bind(1, site)
                 .bind(2, id)
                 .run());
    return t.commit();
}

Result<std::map<std::string, std::string>> ReleaseDb::pointers(std::string_view site) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT env, release_id FROM pointers WHERE site = ?");
    s.bind(1, site);
    std::map<std::string, std::string> out;
    MOAT_TRY(each_row(s, [&](const Stmt& row) { out.emplace(row.text(0), row.text(1)); }));
    return out;
}

Result<std::string> ReleaseDb::pointer(std::string_view site, std::string_view env) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT release_id FROM pointers WHERE site = ? AND env = ?");
    s.bind(1, site).bind(2, env);
    auto id = first_row(s, text0);
    if (!id) return id.error();
    return id->value_or(std::string());
}

Result<void> ReleaseDb::move_pointer(std::string_view site, const MoveRow& m) {
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    MOAT_TRY((*c)->prepare("INSERT OR REPLACE INTO pointers(site, env, release_id) VALUES(?, ?, ?)")
                 .bind(1, site)
                 .bind(2, m.env)
                 .bind(3, m.release_id)
                 .run());
    MOAT_TRY((*c)->prepare("INSERT INTO history(site, env, release_id, previous, action, "
                           "by_principal, at) VALUES(?, ?, ?, ?, ?, ?, ?)")
                 .bind(1, site)
                 .bind(2, m.env)
                 .bind(3, m.release_id)
                 .bind(4, m.previous)
                 .bind(5, m.action)
                 .bind(6, m.by)
                 .bind(7, m.at_ms)
                 .run());
    return t.commit();
}

Result<std::vector<MoveRow>> ReleaseDb::history(std::string_view site) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare(
        "SELECT env, release_id, previous, action, by_principal, at FROM history "
        "WHERE site = ? ORDER BY seq DESC");
    s.bind(1, site);
    return all_rows(s, [](const Stmt& row) {
        return MoveRow{row.text(0), row.text(1), row.text(2), row.text(3), row.text(4), row.i64(5)};
    });
}

Result<std::vector<std::string>> ReleaseDb::history_releases(std::string_view site,
                                                             std::string_view env) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare(
        "SELECT release_id FROM history WHERE site = ? AND env = ? ORDER BY seq DESC");
    s.bind(1, site).bind(2, env);
    return all_rows(s, text0);
}

Result<std::optional<PromotionRow>> ReleaseDb::pending(std::string_view site) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare(
        "SELECT release_id, manifest_hash, requested_by, requested_at FROM promotions "
        "WHERE site = ? AND state = 'pending' ORDER BY seq DESC LIMIT 1");
    s.bind(1, site);
    return first_row(s, [&](const Stmt& row) {
        return PromotionRow{std::string(site), row.text(0), row.text(1), row.text(2), row.i64(3)};
    });
}

Result<void> ReleaseDb::request_promotion(const PromotionRow& p) {
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    MOAT_TRY((*c)->prepare("UPDATE promotions SET state = 'superseded' "
                           "WHERE site = ? AND state = 'pending'")
                 .bind(1, p.site)
                 .run());
    MOAT_TRY((*c)->prepare("INSERT INTO promotions(site, release_id, manifest_hash, requested_by, "
                           "requested_at, state) VALUES(?, ?, ?, ?, ?, 'pending')")
                 .bind(1, p.site)
                 .bind(2, p.release_id)
                 .bind(3, p.manifest_hash)
                 .bind(4, p.requested_by)
                 .bind(5, p.requested_at_ms)
                 .run());
    return t.commit();
}

Result<void> ReleaseDb::finish_promotion(std::string_view site, std::string_view release_id,
                                         std::string_view state, std::string_view note) {
    auto c = pool_.lease();
    if (!c) return c.error();
    return (*c)
        ->prepare(
            "UPDATE promotions SET state = ?, note = ? "
            "WHERE site = ? AND release_id = ? AND state = 'pending'")
        .bind(1, state)
        .bind(2, note)
        .bind(3, site)
        .bind(4, release_id)
        .run();
}

Result<void> ReleaseDb::add_approval(std::string_view site, std::string_view release_id,
                                     std::string_view hash, std::string_view principal,
                                     std::int64_t at_ms) {
    auto c = pool_.lease();
    if (!c) return c.error();
    // OR IGNORE: a second approval by the same principal counts once (and keeps its first time).
    return (*c)
        ->prepare(
            "INSERT OR IGNORE INTO approvals(site, release_id, manifest_hash, principal, at) "
            "VALUES(?, ?, ?, ?, ?)")
        .bind(1, site)
        .bind(2, release_id)
        .bind(3, hash)
        .bind(4, principal)
        .bind(5, at_ms)
        .run();
}

Result<std::vector<std::string>> ReleaseDb::approvers(std::string_view site,
                                                      std::string_view release_id,
                                                      std::string_view hash) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare(
        "SELECT principal FROM approvals WHERE site = ? AND release_id = ? AND manifest_hash = ? "
        "ORDER BY at, principal");
    s.bind(1, site).bind(2, release_id).bind(3, hash);
    return all_rows(s, text0);
}

Result<void> ReleaseDb::delete_approvals(std::string_view site, std::string_view release_id,
                                         std::string_view hash) {
    auto c = pool_.lease();
    if (!c) return c.error();
    return (*c)
        ->prepare("DELETE FROM approvals WHERE site = ? AND release_id = ? AND manifest_hash = ?")
        .bind(1, site)
        .bind(2, release_id)
        .bind(3, hash)
        .run();
}

Result<std::int64_t> ReleaseDb::add_invalidation(std::string_view site, std::string_view env,
                                                 std::string_view paths_json, std::string_view by,
                                                 std::int64_t at_ms) {
    auto c = pool_.lease();
    if (!c) return c.error();
    MOAT_TRY((*c)->prepare("INSERT INTO invalidations(site, env, paths, by_principal, at) "
                           "VALUES(?, ?, ?, ?, ?)")
                 .bind(1, site)
                 .bind(2, env)
                 .bind(3, paths_json)
                 .bind(4, by)
                 .bind(5, at_ms)
                 .run());
    return (*c)->last_rowid();
}

Result<std::vector<VariantRow>> ReleaseDb::variants(std::string_view sha256) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT encoding, key, version_id, size FROM variants WHERE sha256 = ?");
    s.bind(1, sha256);
    return all_rows(s, [](const Stmt& row) {
        return VariantRow{row.text(0), row.text(1), row.text(2), u64(row, 3)};
    });
}

Result<void> ReleaseDb::add_variants(std::string_view sha256, const std::vector<VariantRow>& rows) {
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    for (const auto& r : rows) {
        MOAT_TRY((*c)->prepare("INSERT OR REPLACE INTO variants(sha256, encoding, key, "
                               "version_id, size) VALUES(?, ?, ?, ?, ?)")
                     .bind(1, sha256)
                     .bind(2, r.encoding)
                     .bind(3, r.key)
                     .bind(4, r.version_id)
                     .bind(5, i64(r.size))
                     .run());
    }
    return t.commit();
}

Result<void> ReleaseDb::delete_variants(std::string_view sha256) {
    auto c = pool_.lease();
    if (!c) return c.error();
    return (*c)->prepare("DELETE FROM variants WHERE sha256 = ?").bind(1, sha256).run();
}

}  // namespace moat::release::internal

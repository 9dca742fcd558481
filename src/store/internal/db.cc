#include "store/internal/db.h"

#include "core/assert.h"
#include "store/store.h"

namespace moat::store::internal {

Error db_error(sqlite3* db, int rc, std::string_view what) {
    Error e = sqlite::error(db, rc, what);
    if ((rc & 0xff) == SQLITE_FULL) e.reason = static_cast<int>(Reason::kNoSpace);
    return e;
}

Stmt::~Stmt() {
    if (s_) {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
}

Result<std::unique_ptr<Conn>> Conn::open(const std::string& path, int busy_timeout_ms,
                                         WriteClock* clock) {
    // NOMUTEX: a Conn is leased to one thread at a time, so SQLite's own mutex is dead weight.
    auto db = sqlite::open(path, SQLITE_OPEN_NOMUTEX, busy_timeout_ms, db_error);
    if (!db) return db.error();
    std::unique_ptr<Conn> c(new Conn(*db, clock));
    // WAL: readers never block the writer. synchronous=FULL: in WAL mode NORMAL may lose the
    // last commits on power loss, and an acknowledged PUT must survive it (store.h contract).
    MOAT_TRY(sqlite::use_wal(c->db_, busy_timeout_ms, db_error));
    MOAT_TRY(
        c->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;"));
    return c;
}

Conn::~Conn() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
}

Result<void> Conn::exec(const char* sql) {
    auto r = sqlite::exec(db_, sql, db_error);
    statement_done();
    return r;
}

Stmt Conn::prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
        if (rc != SQLITE_OK) {
            std::fprintf(stderr, "moat store: bad SQL %s: %s\n", sql, sqlite3_errmsg(db_));
            std::abort();  // a typo in a literal, not a runtime condition
        }
        it = cache_.emplace(sql, s).first;
    }
    return Stmt(this, db_, it->second);
}

// Outside a transaction (autocommit again) with more changed rows than last time: a write
// transaction just ended. sqlite3_total_changes64 counts only this connection's changes.
// A transaction that declared the names it changed counts only their stripes.
void Conn::statement_done() {
    if (!clock_ || !sqlite3_get_autocommit(db_)) return;
    std::int64_t total = sqlite3_total_changes64(db_);
    if (total != seen_changes_) {
        seen_changes_ = total;
        if (clock_->shared) clock_->shared->fetch_add(1);
        if (!declared_) {
            clock_->global.fetch_add(1);
        } else {
            // One count per declaration, not per stripe: two PUTs of one name in one group
            // commit must leave a count of two, so neither takes the name's count as its own
            // alone (LocalStore::install_written).
            for (auto h : changed_) clock_->of(h).fetch_add(1);
        }
    }
    declared_ = false;
    changed_.clear();
}

Lease::~Lease() {
    if (c_ && pool_) pool_->give_back(std::move(c_));
}

Result<Lease> Pool::lease() {
    {
        std::lock_guard lock(mu_);
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return Lease(this, std::move(c));
        }
    }
    auto c = Conn::open(path_, busy_, &clock_);
    if (!c) return c.error();
    return Lease(this, std::move(*c));
}

void Pool::give_back(std::unique_ptr<Conn> c) {
    c->reset_declarations();
    std::lock_guard lock(mu_);
    if (idle_.size() < 32) idle_.push_back(std::move(c));
}

Result<void> Txn::begin() {
    MOAT_TRY(c_.prepare("BEGIN IMMEDIATE").run());
    open_ = true;
    return {};
}

Result<void> Txn::commit() {
    auto r = c_.prepare("COMMIT").run();
    if (r) open_ = false;
    return r;
}

Txn::~Txn() {
    if (open_) (void)c_.prepare("ROLLBACK").run();
}

}  // namespace moat::store::internal

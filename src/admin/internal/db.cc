#include "admin/internal/db.h"

namespace moat::admin::internal {

namespace sqlite = store::sqlite;

Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
    constexpr int kBusyTimeoutMs = 10000;
    auto raw = sqlite::open(path, SQLITE_OPEN_FULLMUTEX, kBusyTimeoutMs, sqlite::error);
    if (!raw) return raw.error();
    std::unique_ptr<Db> db(new Db(*raw));
    MOAT_TRY(sqlite::use_wal(db->db_, kBusyTimeoutMs, sqlite::error));
    MOAT_TRY(db->exec("PRAGMA synchronous=FULL;"));
    return db;
}

Db::~Db() { sqlite3_close_v2(db_); }

Result<void> Db::exec(const char* sql) { return sqlite::exec(db_, sql, sqlite::error); }

Result<Stmt> Db::prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) return sqlite::error(db_, rc, sql);
    return Stmt(db_, s);
}

Txn::~Txn() {
    if (open_) (void)db_.exec("ROLLBACK");
}

Result<void> Txn::begin(bool immediate) {
    MOAT_TRY(db_.exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
    open_ = true;
    return {};
}

Result<void> Txn::commit() {
    MOAT_TRY(db_.exec("COMMIT"));
    open_ = false;
    return {};
}

}  // namespace moat::admin::internal

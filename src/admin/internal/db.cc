#include "admin/internal/db.h"

namespace moat::admin::internal {
namespace {

Error db_error(sqlite3* db, int rc, std::string_view what) {
    std::string detail =
        "sqlite: " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_FULL:
            return make_error(Errc::kUnavailable, std::move(detail));
        default:
            return make_error(Errc::kIo, std::move(detail));
    }
}

}  // namespace

Stmt& Stmt::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
}
Stmt& Stmt::bind(int i, std::string_view text) {
    sqlite3_bind_text64(s_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}
Stmt& Stmt::bind_blob(int i, std::string_view bytes) {
    sqlite3_bind_blob64(s_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    return *this;
}

Result<bool> Stmt::step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return db_error(db_, rc, sqlite3_sql(s_));
}

Result<void> Stmt::run() {
    for (;;) {
        auto r = step();
        if (!r) return r.error();
        if (!*r) return {};
    }
}

std::string Stmt::text(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n))
             : std::string();
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        Error e = db_error(raw, rc, "open " + path);
        sqlite3_close_v2(raw);
        return e;
    }
    std::unique_ptr<Db> db(new Db(raw));
    sqlite3_busy_timeout(raw, 10000);
    MOAT_TRY(db->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
    return db;
}

Db::~Db() { sqlite3_close_v2(db_); }

Result<void> Db::exec(const char* sql) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
        Error e = db_error(db_, rc, msg ? msg : sql);
        sqlite3_free(msg);
        return e;
    }
    return {};
}

Result<Stmt> Db::prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
    if (rc != SQLITE_OK) return db_error(db_, rc, sql);
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

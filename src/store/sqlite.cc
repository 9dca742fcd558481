#include "store/sqlite.h"

#include <chrono>
#include <cstdint>
#include <random>
#include <thread>

namespace moat::store::sqlite {

Error error(sqlite3* db, int rc, std::string_view what) {
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

Result<sqlite3*> open(const std::string& path, int flags, int busy_timeout_ms, ErrorFn err) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | flags,
                             nullptr);
    if (rc != SQLITE_OK) {
        Error e = err(db, rc, "open " + path);
        sqlite3_close_v2(db);  // SQLite returns a handle even on failure
        return e;
    }
    sqlite3_busy_timeout(db, busy_timeout_ms);
    return db;
}

Result<void> exec(sqlite3* db, const char* sql, ErrorFn err) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
        Error e = err(db, rc, msg ? msg : sql);
        sqlite3_free(msg);
        return e;
    }
    return {};
}

Result<void> use_wal(sqlite3* db, int busy_timeout_ms, ErrorFn err) {
    constexpr const char* kSql = "PRAGMA journal_mode=WAL";
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
    std::minstd_rand jitter(static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(db)));
    for (;;) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v2(db, kSql, -1, &s, nullptr);
        std::string mode;
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(s);
            if (rc == SQLITE_ROW) {
                const unsigned char* t = sqlite3_column_text(s, 0);
                mode = t ? reinterpret_cast<const char*>(t) : "";
                rc = SQLITE_OK;
            }
        }
        if (rc != SQLITE_OK) {
            Error e = err(db, rc, kSql);
            sqlite3_finalize(s);
            int primary = rc & 0xff;
            if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) ||
                std::chrono::steady_clock::now() >= deadline)
                return e;
            // Another process holds the lock for a moment: wait 5-20 ms, not in lockstep.
            std::this_thread::sleep_for(std::chrono::milliseconds(5 + jitter() % 16));
            continue;
        }
        sqlite3_finalize(s);
        if (mode != "wal")
            return make_error(
                Errc::kIo, "sqlite: the database cannot use WAL here (journal mode " + mode + ")");
        return {};
    }
}

Statement& Statement::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
}

Statement& Statement::bind(int i, std::string_view text) {
    sqlite3_bind_text64(s_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}

Statement& Statement::bind_blob(int i, std::string_view bytes) {
    sqlite3_bind_blob64(s_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
}

Result<bool> Statement::step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (observer_) observer_->statement_done();
    if (rc == SQLITE_DONE) return false;
    return err_(db_, rc, sqlite3_sql(s_));
}

Result<void> Statement::run() {
    for (;;) {
        auto r = step();
        if (!r) return r.error();
        if (!*r) return {};
    }
}

std::string Statement::text(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n))
             : std::string();
}

}  // namespace moat::store::sqlite

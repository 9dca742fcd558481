#pragma once
// The SQLite layer every moat database shares (store/internal/db.h for the store and release/,
// admin/internal/db.h for admin/): errors as values, opening, and a statement that binds, steps
// and reads columns. Who owns a statement (finalized after one use, or cached per connection)
// and what a statement's end means stays with each of them. Nothing here knows the object store.

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::store::sqlite {

// The Error for a failed SQLite call: BUSY, LOCKED and FULL are kUnavailable (try again later),
// anything else kIo. `what` (the SQL or the action) goes into the detail.
Error error(sqlite3* db, int rc, std::string_view what);

// How a database turns a failed call into an Error: error() or a refinement of it.
using ErrorFn = Error (*)(sqlite3* db, int rc, std::string_view what);

// Opens `path` read-write, created if missing, with `flags` added (SQLITE_OPEN_NOMUTEX ...) and
// a busy timeout. The caller owns the handle (sqlite3_close_v2).
Result<sqlite3*> open(const std::string& path, int flags, int busy_timeout_ms, ErrorFn err);

// Runs `sql`, one or more statements whose rows are ignored.
Result<void> exec(sqlite3* db, const char* sql, ErrorFn err);

// Puts the database in WAL mode (readers never block the writer; the mode persists in the
// file). The first switch needs an exclusive lock, and SQLite answers SQLITE_BUSY at once,
// without the busy handler, when another process is switching the same new file at the same
// moment (two moat processes starting on one shared store folder did), so this retries for up
// to `busy_timeout_ms`. An error if the file system cannot do WAL.
Result<void> use_wal(sqlite3* db, int busy_timeout_ms, ErrorFn err);

// Told when a statement stops, ran to its end or failed (the store counts the write
// transactions that ended there).
class StatementObserver {
public:
    virtual void statement_done() = 0;

protected:
    ~StatementObserver() = default;
};

// A prepared statement it does not own: the derived class finalizes or resets it.
class Statement {
public:
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, std::int64_t v);
    Statement& bind(int i, std::string_view text);
    Statement& bind_blob(int i, std::string_view bytes);
    Statement& bind_null(int i);

    Result<bool> step();  // true: a row is ready
    Result<void> run();   // steps to the end, ignoring rows

    std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
    std::string text(int col) const;  // TEXT or BLOB bytes as they are; "" for NULL
    bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

protected:
    // `observer` (may be null) must outlive the statement.
    Statement(sqlite3* db, sqlite3_stmt* s, ErrorFn err, StatementObserver* observer)
        : db_(db), s_(s), err_(err), observer_(observer) {}
    Statement(Statement&& o) noexcept : db_(o.db_), s_(o.s_), err_(o.err_), observer_(o.observer_) {
        o.s_ = nullptr;
    }
    ~Statement() = default;

    sqlite3* db_;
    sqlite3_stmt* s_;  // null once moved from

private:
    ErrorFn err_;
    StatementObserver* observer_;
};

}  // namespace moat::store::sqlite

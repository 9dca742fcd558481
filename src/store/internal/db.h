#pragma once
// SQLite access for the store: connections with cached statements, a pool that leases one
// connection to one thread at a time (SQLite WAL lets readers run beside the one writer), and an
// IMMEDIATE transaction guard. Private to store/.

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace moat::store::internal {

// The Error for a failed SQLite call: SQLITE_FULL -> kNoSpace, BUSY/LOCKED -> kUnavailable.
Error db_error(sqlite3* db, int rc, std::string_view what);

class Conn;

// A prepared statement leased from a Conn's cache; reset and unbound when it goes away.
class Stmt {
public:
    Stmt(Conn* c, sqlite3* db, sqlite3_stmt* s) : conn_(c), db_(db), s_(s) {}
    Stmt(Stmt&& o) noexcept : conn_(o.conn_), db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
    Stmt(const Stmt&) = delete;
    ~Stmt();

    Stmt& bind(int i, std::int64_t v);
    Stmt& bind(int i, std::string_view text);
    Stmt& bind_blob(int i, std::string_view bytes);
    Stmt& bind_null(int i);

    Result<bool> step();  // true: a row is ready
    Result<void> run();   // steps to the end, ignoring rows

    std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
    std::string text(int col) const;
    bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

private:
    Conn* conn_;
    sqlite3* db_;
    sqlite3_stmt* s_;
};

class Conn {
public:
    // `writes` (may be null; must outlive the Conn) is incremented after every transaction of
    // this connection that changed rows has ended (committed, or rolled back: a spare
    // increment is harmless). Caches of what the database says compare it (Pool::writes()).
    static Result<std::unique_ptr<Conn>> open(const std::string& path, int busy_timeout_ms,
                                              std::atomic<std::uint64_t>* writes = nullptr);
    ~Conn();
    Conn(const Conn&) = delete;

    Result<void> exec(const char* sql);
    // `sql` must be a string literal (its address keys the cache).
    Stmt prepare(const char* sql);
    std::int64_t changes() const { return sqlite3_changes64(db_); }
    std::int64_t last_rowid() const { return sqlite3_last_insert_rowid(db_); }
    sqlite3* raw() { return db_; }
    // After a statement ran to its end: counts a finished write transaction (see open()).
    void statement_done();

private:
    Conn(sqlite3* db, std::atomic<std::uint64_t>* writes) : db_(db), writes_(writes) {}
    sqlite3* db_;
    std::atomic<std::uint64_t>* writes_;
    std::int64_t seen_changes_ = 0;
    std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

class Pool;
// A connection leased from the pool; returned on destruction.
class Lease {
public:
    Lease(Pool* p, std::unique_ptr<Conn> c) : pool_(p), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Conn* operator->() { return c_.get(); }
    Conn& operator*() { return *c_; }

private:
    Pool* pool_;
    std::unique_ptr<Conn> c_;
};

// Connections to one database, opened on demand, kept for reuse. Thread-safe.
class Pool {
public:
    Pool(std::string path, int busy_timeout_ms) : path_(std::move(path)), busy_(busy_timeout_ms) {}
    Result<Lease> lease();
    void give_back(std::unique_ptr<Conn> c);
    // Write transactions ended on this pool's connections so far. A reader that loads it
    // before its own read transaction starts, and finds it unchanged later, knows no commit
    // of this process landed in between (writes by other processes are not counted).
    std::uint64_t writes() const { return writes_.load(); }

private:
    std::string path_;
    int busy_;
    std::atomic<std::uint64_t> writes_{0};
    std::mutex mu_;
    std::vector<std::unique_ptr<Conn>> idle_;
};

// BEGIN IMMEDIATE (takes the write lock up front, so a busy writer waits in busy_timeout rather
// than failing at its first write); rolls back unless commit() succeeded.
class Txn {
public:
    explicit Txn(Conn& c) : c_(c) {}
    Result<void> begin();
    Result<void> commit();
    ~Txn();

private:
    Conn& c_;
    bool open_ = false;
};

}  // namespace moat::store::internal

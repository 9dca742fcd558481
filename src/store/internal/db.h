#pragma once
// SQLite access for the store: connections with cached statements, a pool that leases one
// connection to one thread at a time (SQLite WAL lets readers run beside the one writer), and an
// IMMEDIATE transaction guard. Private to store/.

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "store/sqlite.h"

namespace moat::store::internal {

// The Error for a failed SQLite call: SQLITE_FULL -> kNoSpace, BUSY/LOCKED -> kUnavailable.
Error db_error(sqlite3* db, int rc, std::string_view what);

class Conn;

// Counts of write transactions that ended, as caches of what the database says compare them
// (read_cache.h): `names` per stripe of (bucket, key) names, for transactions that declared
// which names they changed (Conn::changed_name), `global` for every other write transaction.
// A reader loads the counts before its read transaction starts; if they are still the same
// later, no write of this process that could change what it read has ended in between.
// `shared` (when set) counts every write transaction as well, for other processes
// (shared_clock.h). 65536 stripes (512 KiB): a write of one name also retires the cached names that
// share its stripe, so with 4096 a bulk upload of 4000 names left a third of them stale (measured);
// at 65536 it is about 3%.
struct WriteClock {
    static constexpr std::size_t kStripes = 65536;
    std::atomic<std::uint64_t> global{0};
    std::array<std::atomic<std::uint64_t>, kStripes> names{};
    std::atomic<std::uint64_t>* shared = nullptr;
    std::atomic<std::uint64_t>& of(std::size_t name_hash) { return names[name_hash % kStripes]; }
};

// A prepared statement leased from a Conn's cache; reset and unbound when it goes away. Its end
// (done or failed) is reported to the Conn (statement_done).
class Stmt : public sqlite::Statement {
public:
    Stmt(sqlite::StatementObserver* c, sqlite3* db, sqlite3_stmt* s)
        : Statement(db, s, db_error, c) {}
    Stmt(Stmt&&) noexcept = default;
    ~Stmt();
};

class Conn final : public sqlite::StatementObserver {
public:
    // `clock` (may be null; must outlive the Conn) counts every transaction of this connection
    // that changed rows, once it has ended (committed, or rolled back: a spare count is
    // harmless): in clock->global, or only in the stripes of the names the transaction
    // declared with changed_name / no_names_changed.
    static Result<std::unique_ptr<Conn>> open(const std::string& path, int busy_timeout_ms,
                                              WriteClock* clock = nullptr);
    ~Conn();
    Conn(const Conn&) = delete;

    Result<void> exec(const char* sql);
    // `sql` must be a string literal (its address keys the cache).
    Stmt prepare(const char* sql);
    std::int64_t changes() const { return sqlite3_changes64(db_); }
    std::int64_t last_rowid() const { return sqlite3_last_insert_rowid(db_); }
    sqlite3* raw() { return db_; }
    // After a statement ran to its end: counts a finished write transaction (see open()).
    void statement_done() override;
    // Inside a write transaction: it changes the versions of this (bucket, key) name (hash of
    // internal::name_hash), so only that name's stripe is counted when it ends (once per call).
    // A transaction that changes versions of names it cannot list must declare nothing (it
    // then counts in `global`, which retires every cached version).
    void changed_name(std::size_t name_hash) {
        changed_.push_back(name_hash);
        declared_ = true;
    }
    // Inside a write transaction: it changes no object version (parts, keys, holds).
    void no_names_changed() { declared_ = true; }
    // Forgets declarations of a transaction that never ran (the pool calls it on return).
    void reset_declarations() {
        declared_ = false;
        changed_.clear();
    }

private:
    Conn(sqlite3* db, WriteClock* clock) : db_(db), clock_(clock) {}
    sqlite3* db_;
    WriteClock* clock_;
    std::int64_t seen_changes_ = 0;
    bool declared_ = false;
    std::vector<std::size_t> changed_;
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
    // Write transactions ended on this pool's connections (see WriteClock); writes by other
    // processes are not counted.
    WriteClock& clock() { return clock_; }

private:
    std::string path_;
    int busy_;
    WriteClock clock_;
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

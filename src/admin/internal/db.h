#pragma once
// SQLite for the admin part: one connection per database, used under its owner's mutex (admin
// traffic is a few calls a minute), statements prepared per use, an IMMEDIATE transaction
// guard. WAL with synchronous=FULL: an acknowledged audit record or principal change survives
// power loss. Private to admin/.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/sqlite.h"

namespace moat::admin::internal {

// A statement prepared for one use, finalized when it goes away. Its errors are the plain
// sqlite::error ones, without the store's Reason: admin's API reads Error::reason as
// release::Reason.
class Stmt : public store::sqlite::Statement {
public:
    Stmt(sqlite3* db, sqlite3_stmt* s) : Statement(db, s, store::sqlite::error, nullptr) {}
    Stmt(Stmt&&) noexcept = default;
    ~Stmt() { sqlite3_finalize(s_); }
};

class Db {
public:
    static Result<std::unique_ptr<Db>> open(const std::string& path);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    Result<void> exec(const char* sql);
    Result<Stmt> prepare(const char* sql);
    std::int64_t changes() const { return sqlite3_changes64(db_); }

private:
    explicit Db(sqlite3* db) : db_(db) {}
    sqlite3* db_;
};

// BEGIN IMMEDIATE (the write lock up front, also against other processes such as offline CLI
// commands), or a plain BEGIN for a consistent read; rolls back unless commit() succeeded.
class Txn {
public:
    explicit Txn(Db& db) : db_(db) {}
    ~Txn();
    Result<void> begin(bool immediate = true);
    Result<void> commit();

private:
    Db& db_;
    bool open_ = false;
};

}  // namespace moat::admin::internal

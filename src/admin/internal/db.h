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

namespace moat::admin::internal {

class Stmt {
public:
    Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
    Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
    Stmt(const Stmt&) = delete;
    ~Stmt() { sqlite3_finalize(s_); }

    Stmt& bind(int i, std::int64_t v);
    Stmt& bind(int i, std::string_view text);
    Stmt& bind_blob(int i, std::string_view bytes);

    Result<bool> step();  // true: a row is ready
    Result<void> run();   // to the end, ignoring rows

    std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
    std::string text(int col) const;

private:
    sqlite3* db_;
    sqlite3_stmt* s_;
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

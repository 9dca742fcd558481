// The SQLite layer shared by the store, release/ and admin/: how failures become Errors, and
// that a statement's end reaches its connection whichever way it was stepped.
#include "store/sqlite.h"

#include <gtest/gtest.h>

#include "store/internal/db.h"
#include "store/store.h"
#include "test_util.h"

namespace moat::store {
namespace {

TEST(Sqlite, ErrorsSayWhetherToTryAgain) {
    for (int rc : {SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL, SQLITE_BUSY_SNAPSHOT}) {
        Error e = sqlite::error(nullptr, rc, "INSERT");
        EXPECT_EQ(e.code, Errc::kUnavailable) << rc;
        EXPECT_EQ(e.reason, 0) << rc;
    }
    Error e = sqlite::error(nullptr, SQLITE_CORRUPT, "SELECT 1");
    EXPECT_EQ(e.code, Errc::kIo);
    EXPECT_EQ(e.detail.rfind("sqlite: SELECT 1: ", 0), 0u) << e.detail;
}

TEST(Sqlite, TheStoreTellsAFullDiskApart) {
    Error full = internal::db_error(nullptr, SQLITE_FULL, "COMMIT");
    EXPECT_EQ(full.code, Errc::kUnavailable);
    EXPECT_EQ(reason_of(full), Reason::kNoSpace);
    Error busy = internal::db_error(nullptr, SQLITE_BUSY, "COMMIT");
    EXPECT_EQ(busy.code, Errc::kUnavailable);
    EXPECT_EQ(reason_of(busy), Reason::kNone);
}

TEST(Sqlite, OpenFailureIsAnError) {
    auto db = sqlite::open("/nonexistent-moat-dir/x.db", 0, 100, sqlite::error);
    ASSERT_FALSE(db);
    EXPECT_EQ(db.error().code, Errc::kIo);
    EXPECT_NE(db.error().detail.find("open /nonexistent-moat-dir/x.db"), std::string::npos);
}

TEST(Sqlite, EndedWriteTransactionsReachTheClockThroughChainedBinds) {
    testing::TempDir dir;
    auto clock = std::make_unique<internal::WriteClock>();
    auto c = internal::Conn::open(dir.path() + "/t.db", 1000, clock.get());
    ASSERT_TRUE(c) << c.error().detail;
    ASSERT_TRUE((*c)->exec("CREATE TABLE t(k TEXT, v INTEGER)"));
    std::uint64_t before = clock->global.load();

    // bind() returns the shared Statement; run() from there must still tell the Conn.
    ASSERT_TRUE((*c)->prepare("INSERT INTO t(k, v) VALUES(?, ?)").bind(1, "a").bind(2, 7).run());
    EXPECT_EQ(clock->global.load(), before + 1);

    auto s = (*c)->prepare("SELECT k, v FROM t");
    auto row = s.step();
    ASSERT_TRUE(row && *row);
    EXPECT_EQ(s.text(0), "a");
    EXPECT_EQ(s.i64(1), 7);
    EXPECT_FALSE(s.is_null(1));
    row = s.step();
    ASSERT_TRUE(row);
    EXPECT_FALSE(*row);
    EXPECT_EQ(clock->global.load(), before + 1);  // a read changes nothing

    ASSERT_TRUE((*c)->prepare("INSERT INTO t(k, v) VALUES(?, ?)").bind(1, "b").bind_null(2).run());
    EXPECT_EQ(clock->global.load(), before + 2);
}

}  // namespace
}  // namespace moat::store

// The SQLite layer shared by the store, release/ and admin/: how failures become Errors, and
// that a statement's end reaches its connection whichever way it was stepped.
#include "store/sqlite.h"

#include <gtest/gtest.h>

#include "store/internal/db.h"
#include "store/store.h"
#include "support/processes.h"
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

// Processes switching one new file to WAL at the same moment: SQLite answers SQLITE_BUSY at
// once to all but one, without waiting (two moat processes starting on one shared store folder
// failed with "database is locked"); use_wal waits its turn instead. Real processes, started
// together by closing one pipe, none of which had SQLite open before the fork.
TEST(Sqlite, ProcessesSwitchingANewFileToWalTogetherAllSucceed) {
    testing::TempDir dir;
    constexpr int kRounds = 15, kProcs = 4;
    int failed = 0;
    for (int round = 0; round < kRounds; ++round) {
        const std::string path = dir.path() + "/r" + std::to_string(round) + ".db";
        failed += test_support::run_together(kProcs, [&](int) {
            auto db = sqlite::open(path, SQLITE_OPEN_NOMUTEX, 10000, sqlite::error);
            if (!db) return 2;
            auto r = sqlite::use_wal(*db, 10000, sqlite::error);
            sqlite3_close_v2(*db);
            return r ? 0 : 1;
        });
    }
    EXPECT_EQ(failed, 0) << "of " << kRounds * kProcs << " opens";
    auto db = sqlite::open(dir.path() + "/r0.db", 0, 1000, sqlite::error);
    ASSERT_TRUE(db);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(*db, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
    sqlite3_finalize(s);
    sqlite3_close_v2(*db);
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

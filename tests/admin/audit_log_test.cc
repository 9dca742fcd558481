#include "admin/audit_log.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "admin/fixtures.h"
#include "admin/internal/audit_chain.h"

namespace moat::admin {
namespace {

using testing::TempDir;

AuditEvent event(int i) {
    return AuditEvent{"admin",        "alice", "deploy",
                      "docs/testing", "ok",    "{\"n\":" + std::to_string(i) + "}",
                      "127.0.0.1"};
}

// Runs SQL against the database behind the log's back, as someone with file access would.
void tamper(const std::string& db, const std::string& sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    char* msg = nullptr;
    int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &msg);
    EXPECT_EQ(rc, SQLITE_OK) << (msg ? msg : "");
    sqlite3_free(msg);
    EXPECT_EQ(sqlite3_changes(h), 1) << sql;
    sqlite3_close(h);
}

bool mentions(const AuditVerifyReport& r, const std::string& what) {
    for (const auto& p : r.problems)
        if (p.find(what) != std::string::npos) return true;
    return false;
}

std::string problems(const AuditVerifyReport& r) {
    std::string s;
    for (const auto& p : r.problems) s += p + "\n";
    return s;
}

class AuditLogTest : public ::testing::Test {
protected:
    void SetUp() override {
        settings_ = testing::settings_in(dir_);
        auto a = AuditLog::open(settings_);
        ASSERT_TRUE(a) << a.error().detail;
        log_ = std::move(*a);
        for (int i = 1; i <= 10; ++i) {
            auto r = log_->append(event(i));
            ASSERT_TRUE(r) << r.error().detail;
            ASSERT_EQ(r->seq, static_cast<std::uint64_t>(i));
        }
    }
    AuditVerifyReport verify() {
        auto v = log_->verify();
        EXPECT_TRUE(v) << v.error().detail;
        return v ? *v : AuditVerifyReport{};
    }

    TempDir dir_;
    AdminSettings settings_;
    std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, TenRecordsChainAndVerify) {
    auto v = verify();
    EXPECT_TRUE(v.ok) << problems(v);
    EXPECT_EQ(v.records, 10u);
    auto recs = log_->records(0, 100);
    ASSERT_TRUE(recs);
    ASSERT_EQ(recs->size(), 10u);
    EXPECT_EQ((*recs)[0].prev_hash, std::string(64, '0'));
    for (std::size_t i = 1; i < recs->size(); ++i) {
        EXPECT_EQ((*recs)[i].prev_hash, (*recs)[i - 1].hash);
        EXPECT_EQ((*recs)[i].seq, i + 1);
    }
    EXPECT_EQ((*recs)[3].event.detail, "{\"n\":4}");
    EXPECT_EQ((*recs)[3].event.principal, "alice");
    auto page = log_->records(7, 2);
    ASSERT_TRUE(page);
    ASSERT_EQ(page->size(), 2u);
    EXPECT_EQ((*page)[0].seq, 8u);
    // The head file names the last record.
    std::ifstream head(settings_.audit_db_path + ".head");
    std::uint64_t seq = 0;
    std::string hash;
    head >> seq >> hash;
    EXPECT_EQ(seq, 10u);
    EXPECT_EQ(hash, recs->back().hash);
}

TEST_F(AuditLogTest, CanonicalFormIsTheFixedArray) {
    auto recs = log_->records(0, 1);
    ASSERT_TRUE(recs);
    AuditRecord r = (*recs)[0];
    std::string c = internal::canonical(r);
    EXPECT_EQ(c.rfind("[1,\"", 0), 0u) << c;
    EXPECT_NE(c.find("Z\",\"admin\",\"alice\",\"deploy\",\"docs/testing\",\"ok\","
                     "\"{\\\"n\\\":1}\",\"127.0.0.1\"]"),
              std::string::npos)
        << c;
    EXPECT_EQ(c[23], '.');  // [1,"2026-11-29T03:00:00.123Z": milliseconds
    EXPECT_EQ(c[27], 'Z');
}

TEST_F(AuditLogTest, EditedRecordIsReported) {
    tamper(settings_.audit_db_path, "UPDATE records SET outcome = 'denied' WHERE seq = 4");
    auto v = verify();
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(mentions(v, "record 4: hash does not match its content")) << problems(v);
    EXPECT_EQ(v.problems.size(), 1u) << problems(v);
}

TEST_F(AuditLogTest, RewrittenHashBreaksTheNextLink) {
    tamper(settings_.audit_db_path,
           "UPDATE records SET hash = '" + std::string(64, 'a') + "' WHERE seq = 6");
    auto v = verify();
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(mentions(v, "record 6: hash does not match")) << problems(v);
    EXPECT_TRUE(mentions(v, "record 7: prev_hash does not match")) << problems(v);
}

TEST_F(AuditLogTest, DeletedMiddleRecordIsReported) {
    tamper(settings_.audit_db_path, "DELETE FROM records WHERE seq = 5");
    auto v = verify();
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(v.records, 9u);
    EXPECT_TRUE(mentions(v, "records 5..5 are missing")) << problems(v);
}

TEST_F(AuditLogTest, DeletedLastRecordIsReportedByTheHeadFile) {
    tamper(settings_.audit_db_path, "DELETE FROM records WHERE seq = 10");
    auto v = verify();
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(mentions(v, "head file names record 10 but the log ends at record 9"))
        << problems(v);
    // The next append chains from the head, so the hole stays visible.
    auto r = log_->append(event(11));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->seq, 11u);
    v = verify();
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(mentions(v, "records 10..10 are missing")) << problems(v);
}

TEST_F(AuditLogTest, HeadLaggingAfterAPowerLossIsAccepted) {
    // The head is not fsynced: after a power loss it may name an older record.
    auto recs = log_->records(0, 100);
    ASSERT_TRUE(recs);
    ASSERT_GE(recs->size(), 5u);
    {
        std::ofstream head(settings_.audit_db_path + ".head", std::ios::trunc);
        head << (*recs)[4].seq << " " << (*recs)[4].hash << "\n";
    }
    auto v = verify();
    EXPECT_TRUE(v.ok) << problems(v);
    // A lagging head whose record was rewritten is not.
    {
        std::ofstream head(settings_.audit_db_path + ".head", std::ios::trunc);
        head << (*recs)[4].seq << " " << (*recs)[3].hash << "\n";
    }
    v = verify();
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(mentions(v, "head file names record 5 but that record's hash differs"))
        << problems(v);
}

TEST_F(AuditLogTest, RecordAppendedBehindItsBackIsReported) {
    tamper(settings_.audit_db_path,
           "INSERT INTO records SELECT seq + 1, time_ms, source, principal, action, target, "
           "outcome, detail, peer, hash, hash FROM records WHERE seq = 10");
    auto v = verify();
    EXPECT_FALSE(v.ok);
    // Without the key its HMAC cannot be right; the head file lagging alone is no problem (a
    // power loss may leave it behind), so the record's hash is what gives it away.
    EXPECT_TRUE(mentions(v, "record 11: hash does not match its content")) << problems(v);
}

TEST_F(AuditLogTest, MissingHeadFileIsReported) {
    ASSERT_EQ(::unlink((settings_.audit_db_path + ".head").c_str()), 0);
    auto v = verify();
    EXPECT_FALSE(v.ok);
    EXPECT_TRUE(mentions(v, "head file missing")) << problems(v);
}

TEST_F(AuditLogTest, ReopenedLogContinuesTheChain) {
    log_.reset();
    auto a = AuditLog::open(settings_);
    ASSERT_TRUE(a);
    auto r = (*a)->append(event(11));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->seq, 11u);
    auto v = (*a)->verify();
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok) << problems(*v);
    EXPECT_EQ(v->records, 11u);
}

TEST(AuditLogKey, AnotherKeyFailsEveryRecord) {
    TempDir dir;
    auto s = testing::settings_in(dir);
    {
        auto a = AuditLog::open(s);
        ASSERT_TRUE(a);
        ASSERT_TRUE((*a)->append(event(1)));
        ASSERT_TRUE((*a)->append(event(2)));
    }
    ASSERT_EQ(::unlink(s.key_file.c_str()), 0);
    auto a = AuditLog::open(s);
    ASSERT_TRUE(a);
    auto v = (*a)->verify();
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->ok);
    EXPECT_EQ(v->problems.size(), 2u);
}

}  // namespace
}  // namespace moat::admin

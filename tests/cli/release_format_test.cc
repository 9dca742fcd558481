// What the release commands print for the admin API's answers (docs/admin-api.md objects).
#include "cli/release_format.h"

#include <gtest/gtest.h>

namespace moat::cli {
namespace {

TEST(ReleaseFormat, PromotePendingOrDone) {
    auto p = promote_text(R"({"promoted":false,"release":{"id":"r7"},"approvals":0,"required":2,)"
                          R"("requested_by":"dev","approvers":[]})",
                          "example.com");
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_TRUE(p->pending);
    EXPECT_EQ(p->text,
              "promotion of r7 to production is waiting for 2 approval(s): moat approve "
              "example.com r7");
    auto d = promote_text(R"({"promoted":true,"release":{"id":"r7"},"approvals":1,"required":1})",
                          "example.com");
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->pending);
    EXPECT_EQ(d->text, "production now serves r7");
    EXPECT_FALSE(promote_text(R"({"promoted":true})", "x"));
    EXPECT_FALSE(promote_text("not json", "x"));
}

TEST(ReleaseFormat, ReleasesTableThenHistory) {
    auto t = releases_text(R"({"releases":[
        {"id":"r2","created":"2026-11-29T02:00:00Z","created_by":"dev","source":"deploy",
         "files":3,"bytes":4200,"environments":["testing","production"]},
        {"id":"r1","created":"2026-11-28T02:00:00Z","created_by":"s3-user","source":"s3",
         "files":12,"bytes":10,"environments":[]}],
      "history":[{"env":"testing","release":"r2","previous":"r1","action":"deploy","by":"dev",
                  "at":"2026-11-29T02:00:01Z"},
                 {"env":"testing","release":"r1","previous":"","action":"s3","by":"s3-user",
                  "at":"2026-11-28T02:00:01Z"}]})");
    ASSERT_TRUE(t) << t.error().detail;
    EXPECT_EQ(*t,
              "ID  CREATED               BY       SOURCE  FILES  SIZE    ENVIRONMENTS\n"
              "r2  2026-11-29T02:00:00Z  dev      deploy  3      4.2 kB  testing,production\n"
              "r1  2026-11-28T02:00:00Z  s3-user  s3      12     10 B    \n"
              "\nhistory (newest first):\n"
              "AT                    ENV      ACTION  RELEASE  PREVIOUS  BY\n"
              "2026-11-29T02:00:01Z  testing  deploy  r2       r1        dev\n"
              "2026-11-28T02:00:01Z  testing  s3      r1       -         s3-user\n");
    auto none = releases_text(R"({"releases":[],"history":[]})");
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, "no releases yet\n");
}

TEST(ReleaseFormat, DiffMarksAddedRemovedChanged) {
    auto d = diff_text(
        R"({"from":"r1","to":"r2","added":["new.html"],"removed":["old.html","gone.css"],)"
        R"("changed":["index.html"]})");
    ASSERT_TRUE(d) << d.error().detail;
    EXPECT_EQ(*d,
              "+ new.html\n- old.html\n- gone.css\n~ index.html\n"
              "r1 -> r2: 1 added, 2 removed, 1 changed\n");
    EXPECT_FALSE(diff_text(R"({"from":"r1","to":"r2"})"));
}

TEST(ReleaseFormat, AuditVerifyListsProblems) {
    auto ok = audit_verify_text(R"({"ok":true,"records":12,"problems":[]})");
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->ok);
    EXPECT_EQ(ok->text, "audit log intact: 12 records\n");
    auto bad = audit_verify_text(
        R"({"ok":false,"records":12,"problems":["record 7: hash does not match its content"]})");
    ASSERT_TRUE(bad);
    EXPECT_FALSE(bad->ok);
    EXPECT_EQ(bad->text,
              "problem: record 7: hash does not match its content\n"
              "audit log DAMAGED: 12 records\n");
}

TEST(ReleaseFormat, AuditRecordsOneLineEach) {
    auto t = audit_records_text(
        R"({"records":[{"seq":1,"time":"2026-11-29T02:00:00Z","source":"admin",)"
        R"("principal":"dev","action":"deploy","target":"example.com/testing","outcome":"ok"}]})");
    ASSERT_TRUE(t) << t.error().detail;
    EXPECT_NE(
        t->find("1    2026-11-29T02:00:00Z  admin   dev        deploy  example.com/testing  ok"),
        std::string::npos)
        << *t;
    auto none = audit_records_text(R"({"records":[]})");
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, "no records\n");
}

TEST(ReleaseFormat, OneLiners) {
    auto r = rollback_text(R"({"id":"r3"})", "production");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, "production now serves r3\n");
    auto i = invalidation_text(
        R"({"id":"I2","site":"example.com","env":"testing","paths":["/docs/*","/a"],)"
        R"("status":"Completed"})");
    ASSERT_TRUE(i);
    EXPECT_EQ(*i, "invalidation I2 of example.com on testing: Completed (/docs/* /a)\n");
    auto b = backup_text(R"({"dest":"/srv/b1","objects":10,"blobs":4,"bytes":2000000})");
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, "backup written to /srv/b1 (on the server): 10 objects, 4 blobs, 2.0 MB\n");
}

}  // namespace
}  // namespace moat::cli

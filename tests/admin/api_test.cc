#include "admin/internal/api.h"

#include <gtest/gtest.h>

#include <thread>

#include "admin/audit_log.h"
#include "admin/fixtures.h"
#include "admin/internal/rate_limit.h"

namespace moat::admin::internal {
namespace {

TEST(PercentDecode, DecodesAndRejectsBadEscapes) {
    EXPECT_EQ(*percent_decode("a%20b%2Fc"), "a b/c");
    EXPECT_EQ(*percent_decode("a+b"), "a+b");
    EXPECT_EQ(*percent_decode("a+b", true), "a b");
    EXPECT_FALSE(percent_decode("%"));
    EXPECT_FALSE(percent_decode("%4"));
    EXPECT_FALSE(percent_decode("%zz"));
    EXPECT_FALSE(percent_decode("a%00b"));  // NUL never reaches a name or a path
}

TEST(SplitPath, SegmentsDecodedSeparately) {
    auto s = split_path("/v1/sites/a%2Fb/x");
    ASSERT_TRUE(s);
    EXPECT_EQ(*s, (std::vector<std::string>{"v1", "sites", "a/b", "x"}));
    EXPECT_FALSE(split_path("v1/sites"));
    EXPECT_FALSE(split_path("/v1/%g0"));
}

TEST(QueryParam, FindsDecodedValues) {
    EXPECT_EQ(query_param("from=r1&to=r%32", "to"), "r2");
    EXPECT_EQ(query_param("a&b=1", "a"), "");
    EXPECT_EQ(query_param("a=1", "b"), std::nullopt);
}

TEST(ErrorTable, StoreReasonsAreNotMistakenForReleaseReasons) {
    // A kUnavailable error carrying some other part's reason 1 is not "NoSuchSite".
    Error e = make_error(Errc::kUnavailable, "disk full");
    e.reason = 1;
    EXPECT_EQ(fail(e).code, "Unavailable");
    e.code = Errc::kNotFound;
    EXPECT_EQ(fail(e).code, "NoSuchSite");
    EXPECT_EQ(fail(e).status, 404);
}

TEST(FailureLimiter, LocksAfterMaxWithinWindowAndKeysAreIndependent) {
    using std::chrono::seconds;
    FailureLimiter l(3, seconds(60), seconds(120));
    auto t = std::chrono::system_clock::time_point(seconds(1000));
    l.fail("a", t);
    l.fail("a", t + seconds(10));
    l.fail("b", t + seconds(10));
    EXPECT_FALSE(l.locked("a", t + seconds(11)));
    l.fail("a", t + seconds(20));
    EXPECT_EQ(l.locked("a", t + seconds(20)), 120);
    EXPECT_EQ(l.locked("a", t + seconds(139)), 1);
    EXPECT_FALSE(l.locked("a", t + seconds(140)));
    EXPECT_FALSE(l.locked("b", t + seconds(20)));
    l.clear("b");
    l.fail("b", t + seconds(30));
    l.fail("b", t + seconds(31));
    EXPECT_FALSE(l.locked("b", t + seconds(31)));
}

TEST(AuditLogThreads, ConcurrentAppendsKeepOneChain) {
    testing::TempDir dir;
    auto s = testing::settings_in(dir);
    auto log = AuditLog::open(s);
    ASSERT_TRUE(log);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i)
                EXPECT_TRUE((*log)->append(AuditEvent{"s3", "k" + std::to_string(t), "s3:PutObject",
                                                      "b/k", "ok", "{}", ""}));
        });
    for (auto& t : ts) t.join();
    auto v = (*log)->verify();
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->ok);
    EXPECT_EQ(v->records, 20u);
}

}  // namespace
}  // namespace moat::admin::internal

// PutOptions' conditions (If-Match, If-None-Match: *) checked inside the commit: the
// compare-and-swap a lease lock is built on must let exactly one of several racing writers win.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "test_util.h"

namespace moat::store {
namespace {

using testing::put_ok;
using testing::read_all;
using testing::StringBody;

class ConditionalPutTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = Store::open(testing::settings_for(dir_.path()));
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        ASSERT_TRUE(store_->create_bucket("bk1"));
    }
    testing::TempDir dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(ConditionalPutTest, IfMatchWritesOnlyOverTheNamedEtag) {
    ObjectInfo first = put_ok(*store_, "bk1", "k", "one");
    PutOptions o;
    o.if_match_etag = first.etag;
    ObjectInfo second = put_ok(*store_, "bk1", "k", "two", o);
    EXPECT_NE(second.etag, first.etag);
    EXPECT_EQ(*read_all(*store_, "bk1", "k"), "two");

    // The same (now stale) ETag again: refused, the object is untouched.
    StringBody b("three");
    auto r = store_->put("bk1", "k", b, o);
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kPreconditionFailed);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_EQ(*read_all(*store_, "bk1", "k"), "two");
}

TEST_F(ConditionalPutTest, IfMatchOnAMissingKeyOrDeleteMarkerIsNoSuchKey) {
    PutOptions o;
    o.if_match_etag = "00000000000000000000000000000000";
    StringBody b("x");
    auto r = store_->put("bk1", "absent", b, o);
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kNoSuchKey);
    EXPECT_FALSE(store_->head("bk1", "absent"));

    // Versioned bucket: a current delete marker counts as absent (store.md §1.5), even when
    // the ETag is that of the version under the marker.
    ASSERT_TRUE(store_->set_versioning("bk1", Versioning::kEnabled));
    ObjectInfo v = put_ok(*store_, "bk1", "gone", "data");
    ASSERT_TRUE(store_->remove("bk1", "gone"));
    o.if_match_etag = v.etag;
    StringBody b2("again");
    r = store_->put("bk1", "gone", b2, o);
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kNoSuchKey);
}

// N threads per round each read the current ETag, then PUT with If-Match on it. The commit
// checks the ETag again inside the write transaction, so exactly one writer wins each round
// and the others get kPreconditionFailed; the winner's bytes are what a GET returns.
TEST_F(ConditionalPutTest, RacingIfMatchWritersExactlyOneWinsPerRound) {
    constexpr int kThreads = 6, kRounds = 15;
    put_ok(*store_, "bk1", "lease", "round -1");
    std::barrier sync(kThreads);
    std::atomic<int> wins[kRounds] = {};
    std::atomic<int> lost[kRounds] = {};
    std::atomic<int> other_errors{0};
    std::string winner_body[kRounds];
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
        ts.emplace_back([&, t] {
            for (int round = 0; round < kRounds; ++round) {
                auto cur = store_->head("bk1", "lease");
                sync.arrive_and_wait();  // everyone read the same ETag before anyone writes
                if (!cur) {
                    ++other_errors;
                    sync.arrive_and_wait();
                    continue;
                }
                PutOptions o;
                o.if_match_etag = cur->etag;
                std::string body = "round " + std::to_string(round) + " by " + std::to_string(t);
                StringBody b(body, 3);  // small pieces: writers overlap while reading bodies
                auto r = store_->put("bk1", "lease", b, o);
                if (r) {
                    ++wins[round];
                    winner_body[round] = body;
                } else if (reason_of(r.error()) == Reason::kPreconditionFailed) {
                    ++lost[round];
                } else {
                    ++other_errors;
                }
                sync.arrive_and_wait();  // the round is over before the next read
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(other_errors.load(), 0);
    for (int round = 0; round < kRounds; ++round) {
        EXPECT_EQ(wins[round].load(), 1) << "round " << round;
        EXPECT_EQ(lost[round].load(), kThreads - 1) << "round " << round;
    }
    EXPECT_EQ(*read_all(*store_, "bk1", "lease"), winner_body[kRounds - 1]);
}

// If-None-Match: * racing on a new key: one creator, the rest refused.
TEST_F(ConditionalPutTest, RacingCreateIfAbsentExactlyOneWins) {
    constexpr int kThreads = 6;
    std::barrier sync(kThreads);
    std::atomic<int> wins{0}, refused{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
        ts.emplace_back([&, t] {
            PutOptions o;
            o.if_none_match_any = true;
            StringBody b("creator " + std::to_string(t), 2);
            sync.arrive_and_wait();
            auto r = store_->put("bk1", "new", b, o);
            if (r)
                ++wins;
            else if (reason_of(r.error()) == Reason::kPreconditionFailed)
                ++refused;
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(refused.load(), kThreads - 1);
}

}  // namespace
}  // namespace moat::store

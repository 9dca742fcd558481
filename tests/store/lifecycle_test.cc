#include <gtest/gtest.h>

#include <thread>

#include "store/lifecycle_job.h"
#include "test_util.h"

namespace moat::store {
namespace {

using testing::put_ok;
using namespace std::chrono_literals;

// A "day" of one second; times are passed to apply_lifecycle explicitly, so nothing sleeps
// except the LifecycleJob test.
class LifecycleTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = testing::settings_for(dir_.path());
        s.day = 1s;
        auto st = Store::open(s);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        ASSERT_TRUE(store_->create_bucket("lcb"));
    }
    std::vector<std::string> versions(const std::string& key) {
        std::vector<std::string> out;
        VersionQuery q;
        q.prefix = key;
        auto page = store_->list_versions("lcb", q);
        for (auto& v : page->versions) out.push_back(v.delete_marker ? "marker" : v.version_id);
        return out;
    }
    testing::TempDir dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(LifecycleTest, ExpirationAddsMarkerInVersionedBucketsAndHonoursPrefix) {
    ASSERT_TRUE(store_->set_versioning("lcb", Versioning::kEnabled));
    LifecycleRule r;
    r.id = "exp";
    r.prefix = "logs/";
    r.expiration_days = 2;
    ASSERT_TRUE(store_->set_lifecycle("lcb", {r}));
    put_ok(*store_, "lcb", "logs/a", "a");
    put_ok(*store_, "lcb", "keep/b", "b");
    auto t0 = Clock::now();
    ASSERT_TRUE(store_->apply_lifecycle(t0 + 1s));
    EXPECT_TRUE(store_->head("lcb", "logs/a"));
    ASSERT_TRUE(store_->apply_lifecycle(t0 + 3s));
    EXPECT_EQ(reason_of(store_->head("lcb", "logs/a").error()), Reason::kDeleteMarker);
    EXPECT_EQ(versions("logs/a").size(), 2u);  // marker + the now noncurrent data
    EXPECT_TRUE(store_->head("lcb", "keep/b"));
    ASSERT_TRUE(store_->apply_lifecycle(t0 + 10s));  // no second marker
    EXPECT_EQ(versions("logs/a").size(), 2u);
}

TEST_F(LifecycleTest, ExpirationRemovesInUnversionedBuckets) {
    LifecycleRule r;
    r.expiration_days = 1;
    ASSERT_TRUE(store_->set_lifecycle("lcb", {r}));
    put_ok(*store_, "lcb", "k", "v");
    ASSERT_TRUE(store_->apply_lifecycle(Clock::now() + 2s));
    EXPECT_TRUE(versions("k").empty());
    EXPECT_EQ(*store_->collect_garbage(), 1u);
}

TEST_F(LifecycleTest, NoncurrentExpiryKeepsNewerNoncurrentVersions) {
    ASSERT_TRUE(store_->set_versioning("lcb", Versioning::kEnabled));
    LifecycleRule r;
    r.noncurrent_days = 1;
    r.newer_noncurrent_versions = 1;
    ASSERT_TRUE(store_->set_lifecycle("lcb", {r}));
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i)
        ids.push_back(put_ok(*store_, "lcb", "k", "v" + std::to_string(i)).version_id);
    auto t0 = Clock::now();
    ASSERT_TRUE(store_->apply_lifecycle(t0));  // not noncurrent long enough
    EXPECT_EQ(versions("k").size(), 4u);
    ASSERT_TRUE(store_->apply_lifecycle(t0 + 2s));
    // Current (ids[3]) and the newest noncurrent (ids[2]) stay.
    EXPECT_EQ(versions("k"), (std::vector<std::string>{ids[3], ids[2]}));
    EXPECT_EQ(*store_->collect_garbage(), 2u);
    EXPECT_EQ(*testing::read_all(*store_, "lcb", "k"), "v3");
}

TEST_F(LifecycleTest, ExpiredObjectDeleteMarkerAndAbortIncompleteUploads) {
    ASSERT_TRUE(store_->set_versioning("lcb", Versioning::kEnabled));
    LifecycleRule r;
    r.noncurrent_days = 1;
    r.expired_object_delete_marker = true;
    r.abort_multipart_days = 1;
    ASSERT_TRUE(store_->set_lifecycle("lcb", {r}));
    put_ok(*store_, "lcb", "gone", "x");
    ASSERT_TRUE(store_->remove("lcb", "gone"));
    auto up = store_->create_upload("lcb", "big", {});
    ASSERT_TRUE(up);
    ASSERT_TRUE(store_->apply_lifecycle(Clock::now() + 2s));
    // The data version expired as noncurrent, then the lone marker went too.
    EXPECT_TRUE(versions("gone").empty());
    EXPECT_TRUE(store_->list_uploads("lcb", "")->empty());
    // Bad rules are refused.
    LifecycleRule bad;
    bad.expiration_days = 1;
    bad.expired_object_delete_marker = true;
    EXPECT_FALSE(store_->set_lifecycle("lcb", {bad}));
    ASSERT_TRUE(store_->set_lifecycle("lcb", {}));
    EXPECT_EQ(reason_of(store_->lifecycle("lcb").error()), Reason::kNoSuchLifecycle);
}

TEST_F(LifecycleTest, GcRemovesOnlyUnreferencedBlobs) {
    ASSERT_TRUE(store_->set_versioning("lcb", Versioning::kEnabled));
    std::string big1 = testing::random_data(50000, 1), big2 = testing::random_data(50000, 2);
    auto v1 = put_ok(*store_, "lcb", "k", big1);
    put_ok(*store_, "lcb", "k", big2);
    put_ok(*store_, "lcb", "same", big2);  // dedup: shares the blob
    EXPECT_EQ(*store_->collect_garbage(), 0u);
    // A reader open on v1 pins its blob across deletion + GC.
    auto rd = store_->open_object("lcb", "k", v1.version_id);
    ASSERT_TRUE(rd);
    ASSERT_TRUE(store_->remove("lcb", "k", v1.version_id));
    EXPECT_EQ(*store_->collect_garbage(), 0u);
    std::string buf(big1.size(), '\0');
    EXPECT_EQ(*(*rd)->read_at(0, buf.data(), buf.size()), big1.size());
    EXPECT_EQ(buf, big1);
    rd->reset();
    EXPECT_EQ(*store_->collect_garbage(), 1u);
    auto vs = store_->list_versions("lcb", {});
    ASSERT_TRUE(store_->remove("lcb", "k", vs->versions[0].version_id));
    EXPECT_EQ(*store_->collect_garbage(), 0u);  // "same" still names big2
    EXPECT_EQ(*testing::read_all(*store_, "lcb", "same"), big2);
    auto rep = store_->scrub();
    EXPECT_EQ(rep->blobs, 1u);
    EXPECT_TRUE(rep->missing.empty());
}

TEST(LifecycleJob, RunsPassesInTheBackground) {
    testing::TempDir dir;
    auto s = testing::settings_for(dir.path());
    s.day = 1s;
    auto st = Store::open(s);
    ASSERT_TRUE(st);
    Store& store = **st;
    ASSERT_TRUE(store.create_bucket("lcb"));
    LifecycleRule r;
    r.expiration_days = 1;
    ASSERT_TRUE(store.set_lifecycle("lcb", {r}));
    put_ok(store, "lcb", "k", "v");
    LifecycleJob job(store, 1s);
    job.start();
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while ((store.head("lcb", "k") || job.passes() < 2) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(store.head("lcb", "k"));
    EXPECT_GE(job.passes(), 2);
    job.stop();
}

}  // namespace
}  // namespace moat::store

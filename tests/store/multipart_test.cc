#include <gtest/gtest.h>

#include "store/internal/crypto.h"
#include "test_util.h"

namespace moat::store {
namespace {

using testing::read_all;
using testing::StringBody;

constexpr std::size_t kMiB = 1024 * 1024;

class MultipartTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = Store::open(testing::settings_for(dir_.path()));
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        ASSERT_TRUE(store_->create_bucket("mpu"));
    }
    PartInfo part(const std::string& id, int n, const std::string& data) {
        StringBody b(data);
        auto p = store_->put_part("mpu", "obj", id, n, b);
        EXPECT_TRUE(p) << (p ? "" : p.error().detail);
        return p ? *p : PartInfo{};
    }
    testing::TempDir dir_;
    std::unique_ptr<Store> store_;
};

std::string md5_bin(const std::string& s) {
    auto d = internal::Digest::md5();
    d.update(s.data(), s.size());
    return d.finish();
}

TEST_F(MultipartTest, CompleteStitchesPartsWithTheS3ETag) {
    ObjectAttributes a;
    a.content_type = "application/x-tar";
    a.user_meta = {{"md5chksum", "abc"}};
    auto id = store_->create_upload("mpu", "obj", a);
    ASSERT_TRUE(id);
    std::string p1 = testing::random_data(5 * kMiB, 1), p2 = testing::random_data(5 * kMiB, 2),
                p3 = testing::random_data(1234, 3);
    auto i1 = part(*id, 1, p1);
    auto i2 = part(*id, 2, p2);
    auto i3 = part(*id, 3, p3);
    EXPECT_EQ(i1.etag, internal::to_hex(md5_bin(p1)));
    auto listed = store_->list_parts("mpu", "obj", *id);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 3u);
    EXPECT_EQ((*listed)[2].size, 1234u);
    auto ups = store_->list_uploads("mpu", "");
    ASSERT_EQ(ups->size(), 1u);
    EXPECT_EQ((*ups)[0].upload_id, *id);
    auto done = store_->complete_upload("mpu", "obj", *id,
                                        {{1, i1.etag}, {2, "\"" + i2.etag + "\""}, {3, i3.etag}});
    ASSERT_TRUE(done) << done.error().detail;
    std::string want = internal::to_hex(md5_bin(md5_bin(p1) + md5_bin(p2) + md5_bin(p3))) + "-3";
    EXPECT_EQ(done->etag, want);
    EXPECT_EQ(done->parts, 3);
    EXPECT_EQ(done->size, p1.size() + p2.size() + p3.size());
    auto head = store_->head("mpu", "obj");
    EXPECT_EQ(head->etag, want);
    EXPECT_EQ(head->attrs.content_type, "application/x-tar");
    EXPECT_EQ(head->attrs.user_meta, a.user_meta);
    auto all = read_all(*store_, "mpu", "obj");
    ASSERT_TRUE(all);
    EXPECT_TRUE(*all == p1 + p2 + p3);
    // A range across the part boundary.
    auto rd = store_->open_object("mpu", "obj");
    std::string buf(100, '\0');
    ASSERT_EQ(*(*rd)->read_at(5 * kMiB - 50, buf.data(), 100), 100u);
    EXPECT_EQ(buf, p1.substr(p1.size() - 50) + p2.substr(0, 50));
    ASSERT_EQ(*(*rd)->read_at(10 * kMiB - 1, buf.data(), 100), 100u);
    EXPECT_EQ(buf, p2.substr(p2.size() - 1) + p3.substr(0, 99));
    // The upload is gone; its parts now belong to the object and survive GC.
    EXPECT_EQ(reason_of(store_->list_parts("mpu", "obj", *id).error()), Reason::kNoSuchUpload);
    EXPECT_EQ(*store_->collect_garbage(), 0u);
    EXPECT_TRUE(*read_all(*store_, "mpu", "obj") == p1 + p2 + p3);
}

TEST_F(MultipartTest, CompleteRejectsBadPartLists) {
    auto id = store_->create_upload("mpu", "obj", {});
    ASSERT_TRUE(id);
    auto small = part(*id, 1, "tiny part");
    auto last = part(*id, 2, "last");
    auto r = store_->complete_upload("mpu", "obj", *id, {{1, small.etag}, {2, last.etag}});
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kEntityTooSmall);
    r = store_->complete_upload("mpu", "obj", *id, {{2, last.etag}, {1, small.etag}});
    EXPECT_EQ(reason_of(r.error()), Reason::kInvalidPartOrder);
    r = store_->complete_upload("mpu", "obj", *id, {{1, last.etag}});
    EXPECT_EQ(reason_of(r.error()), Reason::kInvalidPart);
    r = store_->complete_upload("mpu", "obj", *id, {{7, last.etag}});
    EXPECT_EQ(reason_of(r.error()), Reason::kInvalidPart);
    r = store_->complete_upload("mpu", "obj", "nope", {{1, small.etag}});
    EXPECT_EQ(reason_of(r.error()), Reason::kNoSuchUpload);
    r = store_->complete_upload("mpu", "other", *id, {{1, small.etag}});
    EXPECT_EQ(reason_of(r.error()), Reason::kNoSuchUpload);
    // A single small part is fine (it is the last).
    r = store_->complete_upload("mpu", "obj", *id, {{2, last.etag}});
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(*read_all(*store_, "mpu", "obj"), "last");
    StringBody b("x");
    EXPECT_FALSE(store_->put_part("mpu", "obj", *id, 0, b));
    EXPECT_FALSE(store_->put_part("mpu", "obj", *id, 10001, b));
}

TEST_F(MultipartTest, AbortDiscardsPartsAndGcRemovesTheirBlobs) {
    auto id = store_->create_upload("mpu", "obj", {});
    part(*id, 1, testing::random_data(100000, 9));
    part(*id, 1, testing::random_data(100000, 10));  // replaces part 1
    EXPECT_EQ(*store_->collect_garbage(), 1u);       // the replaced one
    ASSERT_TRUE(store_->abort_upload("mpu", "obj", *id));
    EXPECT_EQ(reason_of(store_->abort_upload("mpu", "obj", *id).error()), Reason::kNoSuchUpload);
    EXPECT_EQ(*store_->collect_garbage(), 1u);
    StringBody b("x");
    EXPECT_EQ(reason_of(store_->put_part("mpu", "obj", *id, 1, b).error()), Reason::kNoSuchUpload);
}

}  // namespace
}  // namespace moat::store

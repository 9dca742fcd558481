#include <gtest/gtest.h>

#include "store/internal/crypto.h"
#include "test_util.h"

namespace moat::store {
namespace {

using testing::put_ok;
using testing::read_all;
using testing::StringBody;

class ObjectsTest : public ::testing::Test {
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

TEST_F(ObjectsTest, PutGetRoundTripsDataAndMetadataExactly) {
    PutOptions o;
    o.attrs.content_type = "text/html; charset=UTF-8";
    o.attrs.user_meta = {{"mtime", "1700000000.5"}, {"s3cmd-attrs", "md5:x/y z"}};
    o.attrs.system_meta = {{"cache-control", "max-age=60"}, {"content-disposition", "inline"}};
    o.attrs.checksums = {{"crc32", "AAAAAA=="}};
    std::string data = "<h1>hello</h1>";
    auto info = put_ok(*store_, "bk1", "dir/index.html", data, o);
    auto md5 = internal::Digest::md5();
    md5.update(data.data(), data.size());
    EXPECT_EQ(info.etag, internal::to_hex(md5.finish()));
    auto sha = internal::Digest::sha256();
    sha.update(data.data(), data.size());
    EXPECT_EQ(info.sha256, internal::to_hex(sha.finish()));
    EXPECT_EQ(info.version_id, "null");
    auto head = store_->head("bk1", "dir/index.html");
    ASSERT_TRUE(head);
    EXPECT_EQ(head->size, data.size());
    EXPECT_EQ(head->etag, info.etag);
    EXPECT_EQ(head->attrs.content_type, o.attrs.content_type);
    EXPECT_EQ(head->attrs.user_meta, o.attrs.user_meta);
    EXPECT_EQ(head->attrs.system_meta, o.attrs.system_meta);
    EXPECT_EQ(head->attrs.checksums, o.attrs.checksums);
    EXPECT_TRUE(head->is_latest);
    auto got = read_all(*store_, "bk1", "dir/index.html");
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, data);
}

TEST_F(ObjectsTest, EmptyAndLargeObjects) {
    put_ok(*store_, "bk1", "empty", "");
    auto got = read_all(*store_, "bk1", "empty");
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, "");
    EXPECT_EQ(store_->head("bk1", "empty")->etag, "d41d8cd98f00b204e9800998ecf8427e");
    std::string big = testing::random_data(3 * 1024 * 1024 + 17);
    put_ok(*store_, "bk1", "big", big);
    got = read_all(*store_, "bk1", "big");
    ASSERT_TRUE(got);
    EXPECT_TRUE(*got == big);
}

TEST_F(ObjectsTest, ErrorsCarryReasons) {
    StringBody b("x");
    auto r = store_->put("nope", "k", b, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kNoSuchBucket);
    auto h = store_->head("bk1", "missing");
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, Errc::kNotFound);
    EXPECT_EQ(reason_of(h.error()), Reason::kNoSuchKey);
    EXPECT_EQ(reason_of(store_->head("bk1", "k", "abc").error()), Reason::kNoSuchVersion);
    EXPECT_EQ(reason_of(store_->create_bucket("bk1").error()), Reason::kBucketExists);
    put_ok(*store_, "bk1", "k", "v");
    EXPECT_EQ(reason_of(store_->delete_bucket("bk1").error()), Reason::kBucketNotEmpty);
    EXPECT_EQ(reason_of(store_->delete_bucket("zz9").error()), Reason::kNoSuchBucket);
}

TEST_F(ObjectsTest, FailedBodyLeavesNothing) {
    StringBody bad(testing::random_data(200000), 5000, true);
    auto r = store_->put("bk1", "k", bad, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kBodyRejected);
    EXPECT_EQ(reason_of(store_->head("bk1", "k").error()), Reason::kNoSuchKey);
    EXPECT_TRUE(std::filesystem::is_empty(dir_.path() + "/tmp"));
    StringBody short_body("abc");
    PutOptions o;
    o.expected_size = 10;
    r = store_->put("bk1", "k", short_body, o);
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kBodyRejected);
}

TEST_F(ObjectsTest, IfNoneMatchAny) {
    PutOptions o;
    o.if_none_match_any = true;
    put_ok(*store_, "bk1", "k", "one", o);
    StringBody b("two");
    auto r = store_->put("bk1", "k", b, o);
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kPreconditionFailed);
    EXPECT_EQ(*read_all(*store_, "bk1", "k"), "one");
}

TEST_F(ObjectsTest, UnversionedPutReplacesAndDeleteRemoves) {
    put_ok(*store_, "bk1", "k", "one");
    put_ok(*store_, "bk1", "k", "two");
    EXPECT_EQ(*read_all(*store_, "bk1", "k"), "two");
    auto vs = store_->list_versions("bk1", {});
    ASSERT_TRUE(vs);
    ASSERT_EQ(vs->versions.size(), 1u);
    EXPECT_EQ(vs->versions[0].version_id, "null");
    auto d = store_->remove("bk1", "k");
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->delete_marker);
    EXPECT_EQ(reason_of(store_->head("bk1", "k").error()), Reason::kNoSuchKey);
    EXPECT_TRUE(store_->remove("bk1", "k"));  // idempotent
    EXPECT_TRUE(store_->delete_bucket("bk1"));
}

TEST_F(ObjectsTest, EnabledVersioningKeepsEveryVersionAndMarkers) {
    ASSERT_TRUE(store_->set_versioning("bk1", Versioning::kEnabled));
    auto v1 = put_ok(*store_, "bk1", "k", "one");
    auto v2 = put_ok(*store_, "bk1", "k", "two");
    EXPECT_NE(v1.version_id, v2.version_id);
    EXPECT_NE(v1.version_id, "null");
    EXPECT_EQ(*read_all(*store_, "bk1", "k"), "two");
    EXPECT_EQ(*read_all(*store_, "bk1", "k", v1.version_id), "one");
    EXPECT_FALSE(store_->head("bk1", "k", v1.version_id)->is_latest);

    auto d = store_->remove("bk1", "k");
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->delete_marker);
    auto h = store_->head("bk1", "k");
    ASSERT_FALSE(h);
    EXPECT_EQ(reason_of(h.error()), Reason::kDeleteMarker);
    EXPECT_EQ(h.error().detail, d->version_id);
    EXPECT_EQ(reason_of(store_->head("bk1", "k", d->version_id).error()), Reason::kDeleteMarker);
    EXPECT_EQ(*read_all(*store_, "bk1", "k", v2.version_id), "two");

    // Removing the marker by id undeletes.
    auto u = store_->remove("bk1", "k", d->version_id);
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->delete_marker);
    EXPECT_EQ(*read_all(*store_, "bk1", "k"), "two");
    // Removing the latest version by id makes the previous one latest.
    ASSERT_TRUE(store_->remove("bk1", "k", v2.version_id));
    EXPECT_EQ(*read_all(*store_, "bk1", "k"), "one");
    EXPECT_TRUE(store_->head("bk1", "k")->is_latest);
    // Unversioning is refused once enabled.
    EXPECT_FALSE(store_->set_versioning("bk1", Versioning::kUnversioned));
    // A marker on a key that never existed is still created (S3).
    auto m = store_->remove("bk1", "never");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->delete_marker);
}

TEST_F(ObjectsTest, SuspendedVersioningWritesTheNullVersion) {
    ASSERT_TRUE(store_->set_versioning("bk1", Versioning::kEnabled));
    auto v1 = put_ok(*store_, "bk1", "k", "one");
    ASSERT_TRUE(store_->set_versioning("bk1", Versioning::kSuspended));
    auto n1 = put_ok(*store_, "bk1", "k", "two");
    EXPECT_EQ(n1.version_id, "null");
    auto n2 = put_ok(*store_, "bk1", "k", "three");
    EXPECT_EQ(n2.version_id, "null");
    auto vs = store_->list_versions("bk1", {});
    ASSERT_TRUE(vs);
    ASSERT_EQ(vs->versions.size(), 2u);  // null (three) replaced null (two); v1 kept
    EXPECT_EQ(vs->versions[0].version_id, "null");
    EXPECT_TRUE(vs->versions[0].is_latest);
    EXPECT_EQ(vs->versions[1].version_id, v1.version_id);
    EXPECT_EQ(*read_all(*store_, "bk1", "k", "null"), "three");
    // DELETE makes a null delete marker, replacing the null version.
    auto d = store_->remove("bk1", "k");
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->delete_marker);
    EXPECT_EQ(d->version_id, "null");
    vs = store_->list_versions("bk1", {});
    ASSERT_EQ(vs->versions.size(), 2u);
    EXPECT_TRUE(vs->versions[0].delete_marker);
    EXPECT_EQ(*read_all(*store_, "bk1", "k", v1.version_id), "one");
}

TEST_F(ObjectsTest, CopySharesBlobsAndKeepsOrReplacesMetadata) {
    PutOptions o;
    o.attrs.content_type = "image/png";
    o.attrs.user_meta = {{"a", "1"}};
    std::string data = testing::random_data(100000);
    auto src = put_ok(*store_, "bk1", "src", data, o);
    ASSERT_TRUE(store_->create_bucket("bk2"));
    auto c1 = store_->copy("bk1", "src", "", "bk2", "dst", std::nullopt);
    ASSERT_TRUE(c1) << c1.error().detail;
    EXPECT_EQ(c1->etag, src.etag);
    EXPECT_EQ(c1->attrs.content_type, "image/png");
    ObjectAttributes repl;
    repl.content_type = "text/plain";
    auto c2 = store_->copy("bk1", "src", "", "bk1", "src", repl);
    ASSERT_TRUE(c2);
    EXPECT_EQ(store_->head("bk1", "src")->attrs.content_type, "text/plain");
    EXPECT_TRUE(store_->head("bk1", "src")->attrs.user_meta.empty());
    EXPECT_EQ(*read_all(*store_, "bk2", "dst"), data);
    // One blob file holds the data of all three names.
    int files = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir_.path() + "/blobs"))
        files += e.is_regular_file();
    EXPECT_EQ(files, 1);
    ASSERT_TRUE(store_->remove("bk1", "src"));
    EXPECT_EQ(*store_->collect_garbage(), 0u);
    EXPECT_EQ(*read_all(*store_, "bk2", "dst"), data);
    auto missing = store_->copy("bk1", "gone", "", "bk2", "x", std::nullopt);
    EXPECT_EQ(reason_of(missing.error()), Reason::kNoSuchKey);
}

TEST_F(ObjectsTest, KeysAreOpaqueBytes) {
    for (std::string key :
         std::vector<std::string>{"../../etc/passwd", "a//b", "/leading", "with space+plus",
                                  "\xc3\xa9t\xc3\xa9", ".", "..", "a\\b", std::string(1024, 'k')}) {
        put_ok(*store_, "bk1", key, "v:" + key);
        auto got = read_all(*store_, "bk1", key);
        ASSERT_TRUE(got) << key;
        EXPECT_EQ(*got, "v:" + key);
    }
    StringBody b("x");
    for (std::string bad : {std::string(), std::string(1025, 'k'), std::string("\xff\xfe"),
                            std::string("\xc0\xaf"), std::string("\xed\xa0\x80")}) {
        auto r = store_->put("bk1", bad, b, {});
        ASSERT_FALSE(r);
        EXPECT_EQ(reason_of(r.error()), Reason::kInvalidKey);
    }
}

TEST_F(ObjectsTest, BucketNamesFollowS3Rules) {
    for (const char* ok : {"abc", "my-bucket.example", "a1b", "123"})
        EXPECT_TRUE(store_->create_bucket(ok)) << ok;
    for (const char* bad : {"ab", "Abc", "a_b", "-abc", "abc-", "a..b", "192.168.1.1", "xn--abc",
                            "abc-s3alias", "has space", ""}) {
        auto r = store_->create_bucket(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(reason_of(r.error()), Reason::kInvalidBucketName) << bad;
    }
    EXPECT_FALSE(store_->create_bucket(std::string(64, 'a')));
    EXPECT_TRUE(store_->create_bucket(std::string(63, 'a')));
}

// A body that verified checksums of its own (an aws-chunked trailer, known only at the end).
class VerifiedBody : public StringBody {
public:
    VerifiedBody(std::string data, Headers verified)
        : StringBody(std::move(data)), verified_(std::move(verified)) {}
    Headers verified_checksums() const override { return verified_; }

private:
    Headers verified_;
};

TEST_F(ObjectsTest, ChecksumsTheBodyVerifiedAreStoredOncePerAlgorithm) {
    PutOptions o;
    o.attrs.checksums = {{"crc32", "announced"}, {"sha1", "header-sha1"}};
    VerifiedBody b("data", {{"crc32", "verified"}, {"crc64nvme", "trailer"}});
    auto put = store_->put("bk1", "k", b, o);
    ASSERT_TRUE(put) << put.error().detail;
    Headers want = {{"sha1", "header-sha1"}, {"crc32", "verified"}, {"crc64nvme", "trailer"}};
    EXPECT_EQ(put->attrs.checksums, want);
    EXPECT_EQ(store_->head("bk1", "k")->attrs.checksums, want);
    // Same bytes under new metadata: the checksums still describe them.
    ObjectAttributes replaced;
    replaced.content_type = "text/plain";
    auto cp = store_->copy("bk1", "k", "", "bk1", "k2", replaced);
    ASSERT_TRUE(cp);
    EXPECT_EQ(store_->head("bk1", "k2")->attrs.checksums, want);
    EXPECT_EQ(store_->head("bk1", "k2")->attrs.content_type, "text/plain");
}

TEST(StoreOpen, DefaultBucketsOnceWithTheirRules) {
    testing::TempDir dir;
    auto s = testing::settings_for(dir.path());
    s.default_buckets = true;
    {
        auto st = Store::open(s);
        ASSERT_TRUE(st) << st.error().detail;
        auto content = (*st)->bucket("content");
        ASSERT_TRUE(content);
        EXPECT_EQ(content->versioning, Versioning::kEnabled);
        auto rules = (*st)->lifecycle("content");
        ASSERT_TRUE(rules);
        ASSERT_EQ(rules->size(), 1u);
        EXPECT_EQ((*rules)[0].noncurrent_days, 7);
        EXPECT_FALSE((*rules)[0].expiration_days);
        auto logs = (*st)->lifecycle("logs");
        ASSERT_TRUE(logs);
        EXPECT_EQ((*logs)[0].expiration_days, 365);
        EXPECT_EQ((*logs)[0].noncurrent_days, 7);
        ASSERT_TRUE((*st)->delete_bucket("logs"));
    }
    auto st = Store::open(s);
    ASSERT_TRUE(st);
    EXPECT_FALSE((*st)->bucket("logs"));  // not recreated
    auto mk = std::filesystem::status(dir.path() + "/master.key").permissions();
    EXPECT_EQ(mk & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace
}  // namespace moat::store

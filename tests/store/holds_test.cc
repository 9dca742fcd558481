#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/internal/crypto.h"
#include "test_util.h"

namespace moat::store {
namespace {

using testing::put_ok;
using namespace std::chrono_literals;

std::string sha_hex(const std::string& data) {
    auto d = internal::Digest::sha256();
    d.update(data.data(), data.size());
    return internal::to_hex(d.finish());
}

// A "day" of one second; apply_lifecycle gets explicit times, nothing sleeps.
class HoldsTest : public ::testing::Test {
protected:
    void SetUp() override { reopen(); }
    void reopen() {
        store_.reset();
        auto s = testing::settings_for(dir_.path());
        s.day = 1s;
        auto st = Store::open(s);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
    }
    void make_bucket(const std::string& name, Versioning v) {
        ASSERT_TRUE(store_->create_bucket(name));
        if (v != Versioning::kUnversioned) {
            ASSERT_TRUE(store_->set_versioning(name, v));
        }
    }
    std::vector<std::string> versions(const std::string& bucket, const std::string& key) {
        std::vector<std::string> out;
        VersionQuery q;
        q.prefix = key;
        auto page = store_->list_versions(bucket, q);
        EXPECT_TRUE(page);
        for (auto& v : page->versions) out.push_back(v.delete_marker ? "marker" : v.version_id);
        return out;
    }
    testing::TempDir dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(HoldsTest, NoncurrentExpirySkipsHeldVersionUntilReleased) {
    make_bucket("bkt", Versioning::kEnabled);
    LifecycleRule r;
    r.noncurrent_days = 1;
    ASSERT_TRUE(store_->set_lifecycle("bkt", {r}));
    auto v1 = put_ok(*store_, "bkt", "k", "one").version_id;
    auto v2 = put_ok(*store_, "bkt", "k", "two").version_id;
    auto v3 = put_ok(*store_, "bkt", "k", "three").version_id;
    ASSERT_TRUE(store_->hold("release:site:1", {{"bkt", "k", v1}}));
    EXPECT_TRUE(*store_->is_held({"bkt", "k", v1}));
    EXPECT_FALSE(*store_->is_held({"bkt", "k", v2}));
    auto t0 = Clock::now();
    ASSERT_TRUE(store_->apply_lifecycle(t0 + 3s));
    // v2 (unheld, noncurrent) went; v1 is held and stays; v3 is current.
    EXPECT_EQ(versions("bkt", "k"), (std::vector<std::string>{v3, v1}));
    EXPECT_EQ(*testing::read_all(*store_, "bkt", "k", v1), "one");
    ASSERT_TRUE(store_->release_holds("release:site:1"));
    EXPECT_FALSE(*store_->is_held({"bkt", "k", v1}));
    ASSERT_TRUE(store_->apply_lifecycle(t0 + 4s));
    EXPECT_EQ(versions("bkt", "k"), (std::vector<std::string>{v3}));
}

TEST_F(HoldsTest, HeldVersionsStillCountAsNewerNoncurrent) {
    make_bucket("bkt", Versioning::kEnabled);
    LifecycleRule r;
    r.noncurrent_days = 1;
    r.newer_noncurrent_versions = 1;
    ASSERT_TRUE(store_->set_lifecycle("bkt", {r}));
    auto v1 = put_ok(*store_, "bkt", "k", "1").version_id;
    auto v2 = put_ok(*store_, "bkt", "k", "2").version_id;
    auto v3 = put_ok(*store_, "bkt", "k", "3").version_id;
    ASSERT_TRUE(store_->hold("h", {{"bkt", "k", v2}}));
    ASSERT_TRUE(store_->apply_lifecycle(Clock::now() + 3s));
    // v2 is the newest noncurrent (kept by the count, and held); v1 is beyond it and goes.
    EXPECT_EQ(versions("bkt", "k"), (std::vector<std::string>{v3, v2}));
}

TEST_F(HoldsTest, CurrentExpirySkipsHeldVersion) {
    make_bucket("plain", Versioning::kUnversioned);
    make_bucket("vers", Versioning::kEnabled);
    LifecycleRule r;
    r.expiration_days = 1;
    ASSERT_TRUE(store_->set_lifecycle("plain", {r}));
    ASSERT_TRUE(store_->set_lifecycle("vers", {r}));
    put_ok(*store_, "plain", "held", "x");
    put_ok(*store_, "plain", "free", "y");
    auto vv = put_ok(*store_, "vers", "held", "z").version_id;
    ASSERT_TRUE(store_->hold("h", {{"plain", "held", "null"}, {"vers", "held", vv}}));
    auto t0 = Clock::now();
    ASSERT_TRUE(store_->apply_lifecycle(t0 + 2s));
    EXPECT_TRUE(store_->head("plain", "held"));
    EXPECT_FALSE(store_->head("plain", "free"));
    EXPECT_EQ(versions("vers", "held"), (std::vector<std::string>{vv}));  // no marker either
    ASSERT_TRUE(store_->release_holds("h"));
    ASSERT_TRUE(store_->apply_lifecycle(t0 + 3s));
    EXPECT_FALSE(store_->head("plain", "held"));
    EXPECT_EQ(versions("vers", "held"), (std::vector<std::string>{"marker", vv}));
}

TEST_F(HoldsTest, RemoveOfHeldVersionIsRefusedButMarkersAreAllowed) {
    make_bucket("bkt", Versioning::kEnabled);
    auto v1 = put_ok(*store_, "bkt", "k", "data").version_id;
    ASSERT_TRUE(store_->hold("release:www:7", {{"bkt", "k", v1}}));
    auto r = store_->remove("bkt", "k", v1);
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kHeld);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_NE(r.error().detail.find("release:www:7"), std::string::npos) << r.error().detail;
    auto marker = store_->remove("bkt", "k");  // a delete marker removes nothing
    ASSERT_TRUE(marker) << marker.error().detail;
    EXPECT_TRUE(marker->delete_marker);
    EXPECT_EQ(*testing::read_all(*store_, "bkt", "k", v1), "data");
    ASSERT_TRUE(store_->release_holds("release:www:7"));
    ASSERT_TRUE(store_->remove("bkt", "k", v1));
    EXPECT_EQ(versions("bkt", "k"), (std::vector<std::string>{"marker"}));
}

TEST_F(HoldsTest, PlainDeleteOfHeldNullVersionIsRefused) {
    make_bucket("uuu", Versioning::kUnversioned);
    put_ok(*store_, "uuu", "k", "data");
    ASSERT_TRUE(store_->hold("h", {{"uuu", "k", "null"}}));
    auto r = store_->remove("uuu", "k");
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kHeld);
    EXPECT_TRUE(store_->head("uuu", "k"));
}

TEST_F(HoldsTest, HoldOfMissingVersionHoldsNothing) {
    make_bucket("bkt", Versioning::kEnabled);
    auto v1 = put_ok(*store_, "bkt", "aaa", "1").version_id;
    auto v2 = put_ok(*store_, "bkt", "bkt", "2").version_id;
    ASSERT_TRUE(store_->remove("bkt", "bkt", v2));
    auto r = store_->hold("h", {{"bkt", "aaa", v1}, {"bkt", "bkt", v2}});
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kNoSuchVersion);
    EXPECT_FALSE(*store_->is_held({"bkt", "aaa", v1}));  // all or nothing
    EXPECT_FALSE(store_->hold("h", {{"nope", "aaa", v1}}));
}

TEST_F(HoldsTest, HoldsAreIdempotentAndCountedPerHolder) {
    make_bucket("bkt", Versioning::kEnabled);
    auto v = put_ok(*store_, "bkt", "k", "x").version_id;
    ASSERT_TRUE(store_->hold("r1", {{"bkt", "k", v}, {"bkt", "k", v}}));
    ASSERT_TRUE(store_->hold("r1", {{"bkt", "k", v}}));
    ASSERT_TRUE(store_->hold("r2", {{"bkt", "k", v}}));
    ASSERT_TRUE(store_->release_holds("r1"));
    EXPECT_TRUE(*store_->is_held({"bkt", "k", v}));  // r2 still holds it
    EXPECT_FALSE(store_->remove("bkt", "k", v));
    ASSERT_TRUE(store_->release_holds("r2"));
    EXPECT_FALSE(*store_->is_held({"bkt", "k", v}));
    EXPECT_TRUE(store_->remove("bkt", "k", v));
}

TEST_F(HoldsTest, HoldsManyVersionsInOneCall) {
    make_bucket("bkt", Versioning::kEnabled);
    std::vector<VersionRef> refs;
    for (int i = 0; i < 500; ++i) {
        std::string key = "k" + std::to_string(i);
        refs.push_back({"bkt", key, put_ok(*store_, "bkt", key, key).version_id});
    }
    ASSERT_TRUE(store_->hold("big", refs));
    for (const auto& r : refs) EXPECT_TRUE(*store_->is_held(r));
    ASSERT_TRUE(store_->release_holds("big"));
    EXPECT_FALSE(*store_->is_held(refs.front()));
}

TEST_F(HoldsTest, FindsFileAndInlineVersionsBySha256) {
    make_bucket("aaa", Versioning::kEnabled);
    make_bucket("bkt", Versioning::kUnversioned);
    std::string big = testing::random_data(100 * 1024, 7);  // over inline_max: a blob file
    std::string small = "small and inline";
    auto first = put_ok(*store_, "aaa", "big1", big);
    auto newest = put_ok(*store_, "bkt", "big2", big);
    auto in = put_ok(*store_, "aaa", "small", small);
    auto f = store_->find_by_sha256(sha_hex(big));
    ASSERT_TRUE(f) << f.error().detail;
    EXPECT_EQ(f->bucket, "bkt");
    EXPECT_EQ(f->key, "big2");
    EXPECT_EQ(f->version_id, newest.version_id);
    EXPECT_EQ(f->size, big.size());
    auto s = store_->find_by_sha256(sha_hex(small));
    ASSERT_TRUE(s) << s.error().detail;
    EXPECT_EQ(s->key, "small");
    EXPECT_EQ(s->version_id, in.version_id);
    // The newest goes; the older one in the other bucket is found instead.
    ASSERT_TRUE(store_->remove("bkt", "big2"));
    f = store_->find_by_sha256(sha_hex(big));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->version_id, first.version_id);
    // A delete marker on top does not hide the version (it still exists, by version id).
    ASSERT_TRUE(store_->remove("aaa", "small"));
    EXPECT_TRUE(store_->find_by_sha256(sha_hex(small)));
    ASSERT_TRUE(store_->remove("aaa", "small", in.version_id));
    auto gone = store_->find_by_sha256(sha_hex(small));
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::kNotFound);
    EXPECT_EQ(store_->find_by_sha256("XYZ").error().code, Errc::kInvalidArgument);
    EXPECT_EQ(store_->find_by_sha256(std::string(64, 'A')).error().code, Errc::kInvalidArgument);
}

// The query find_by_sha256 runs (holds.cc) must be one probe of the index, not a scan.
TEST_F(HoldsTest, Sha256LookupUsesTheIndex) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/meta.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "EXPLAIN QUERY PLAN SELECT v.id, v.bucket, v.key, v.vid, "
                                 "v.latest, v.marker, v.size, v.mtime, v.etag, v.sha256, "
                                 "v.parts, v.attrs FROM versions v WHERE v.sha256 = ? AND "
                                 "v.marker = 0 ORDER BY v.id DESC LIMIT 1",
                                 -1, &s, nullptr),
              SQLITE_OK);
    std::string plan;
    while (sqlite3_step(s) == SQLITE_ROW)
        plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3)) + std::string("\n");
    sqlite3_finalize(s);
    sqlite3_close(db);
    EXPECT_NE(plan.find("USING INDEX versions_sha256 (sha256=?)"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;  // no sort
}

TEST_F(HoldsTest, OldDatabaseGainsHoldsAndIndexOnOpen) {
    make_bucket("bkt", Versioning::kEnabled);
    std::string data = testing::random_data(30000, 3);
    auto v = put_ok(*store_, "bkt", "k", data).version_id;
    store_.reset();
    {
        // What schema 1 looked like: no holds table, no sha256 index.
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((dir_.path() + "/meta.db").c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "DROP TABLE holds; DROP INDEX versions_sha256; "
                               "UPDATE meta SET v = '1' WHERE k = 'schema';",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    reopen();
    ASSERT_TRUE(store_->hold("h", {{"bkt", "k", v}}));
    EXPECT_EQ(reason_of(store_->remove("bkt", "k", v).error()), Reason::kHeld);
    auto f = store_->find_by_sha256(sha_hex(data));
    ASSERT_TRUE(f) << f.error().detail;
    EXPECT_EQ(f->version_id, v);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/meta.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT (SELECT count(*) FROM sqlite_master WHERE name IN "
                                 "('holds', 'holds_holder', 'versions_sha256')), "
                                 "(SELECT v FROM meta WHERE k = 'schema')",
                                 -1, &s, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(s, 0), 3);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 1))), "2");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

}  // namespace
}  // namespace moat::store

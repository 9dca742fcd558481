// Listings that cross the store's internal batches of rows and jump over common prefixes, for
// objects and for versions, page by page: every entry once, in order, nothing left out.
#include <gtest/gtest.h>

#include <cstdio>

#include "test_util.h"

namespace moat::store {
namespace {

using testing::put_ok;

class ListPagingTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = Store::open(testing::settings_for(dir_.path()));
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        ASSERT_TRUE(store_->create_bucket("pages"));
    }
    static std::string numbered(const char* prefix, int i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%s%04d", prefix, i);
        return buf;
    }
    testing::TempDir dir_;
    std::unique_ptr<Store> store_;
};

// More keys than one batch of rows (500) on either side of a common prefix of more than one
// batch: the listing walks on across batches and past the prefix in one call.
TEST_F(ListPagingTest, ObjectsAcrossBatchesAndPrefixes) {
    std::vector<std::string> ks, ps;
    for (int i = 0; i < 520; ++i) ks.push_back(put_ok(*store_, "pages", numbered("k", i), "x").key);
    for (int i = 0; i < 510; ++i)
        ps.push_back(put_ok(*store_, "pages", numbered("p/", i), "x").key);
    put_ok(*store_, "pages", "z", "x");

    ListQuery q;
    q.delimiter = "/";
    q.max_keys = 1000;
    auto p = store_->list("pages", q);
    ASSERT_TRUE(p) << p.error().detail;
    ASSERT_EQ(p->objects.size(), 521u);
    EXPECT_EQ(p->objects[519].key, ks.back());
    EXPECT_EQ(p->objects[520].key, "z");
    EXPECT_EQ(p->common_prefixes, (std::vector<std::string>{"p/"}));
    EXPECT_FALSE(p->truncated);
    EXPECT_TRUE(p->next_after.empty());

    // Without a delimiter: a full page of 1000, then the rest after its last key.
    q.delimiter.clear();
    p = store_->list("pages", q);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->objects.size(), 1000u);
    EXPECT_TRUE(p->truncated);
    EXPECT_EQ(p->next_after, ps[479]);
    q.after = p->next_after;
    p = store_->list("pages", q);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->objects.size(), 31u);
    EXPECT_EQ(p->objects.front().key, ps[480]);
    EXPECT_EQ(p->objects.back().key, "z");
    EXPECT_FALSE(p->truncated);

    // A page boundary right after the prefix: the next page starts past every key under it.
    q.delimiter = "/";
    q.after = "k0519";
    q.max_keys = 1;
    p = store_->list("pages", q);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->objects.empty());
    EXPECT_EQ(p->common_prefixes, (std::vector<std::string>{"p/"}));
    EXPECT_TRUE(p->truncated);
    q.after = p->next_after;
    p = store_->list("pages", q);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->objects.size(), 1u);
    EXPECT_EQ(p->objects[0].key, "z");
    EXPECT_TRUE(p->common_prefixes.empty());
    EXPECT_FALSE(p->truncated);
}

// Versions rolled up under a delimiter, paged with key and version-id markers; with pages of 3
// a page ends on the common prefix, so the next one starts from a prefix marker.
TEST_F(ListPagingTest, VersionsWithDelimiterAcrossPages) {
    ASSERT_TRUE(store_->set_versioning("pages", Versioning::kEnabled));
    std::vector<std::string> want;  // newest first per key, as listed
    auto put = [&](const char* key) { return put_ok(*store_, "pages", key, "x").version_id; };
    std::string a1 = put("a"), a2 = put("a");
    put("d/x");
    put("d/x");
    put("d/y");
    std::string e1 = put("e"), e2 = put("e"), e3 = put("e");
    want = {"a:" + a2, "a:" + a1, "d/", "e:" + e3, "e:" + e2, "e:" + e1};

    for (int max : {1, 2, 3, 4, 6}) {
        VersionQuery q;
        q.delimiter = "/";
        q.max_keys = max;
        std::vector<std::string> got;
        for (int pages = 0; pages < 10; ++pages) {
            auto p = store_->list_versions("pages", q);
            ASSERT_TRUE(p) << p.error().detail;
            EXPECT_LE(p->versions.size() + p->common_prefixes.size(),
                      static_cast<std::size_t>(max));
            // Entries come in key order; a prefix sorts among the keys.
            std::size_t vi = 0, pi = 0;
            while (vi < p->versions.size() || pi < p->common_prefixes.size()) {
                if (pi < p->common_prefixes.size() &&
                    (vi == p->versions.size() || p->common_prefixes[pi] < p->versions[vi].key)) {
                    got.push_back(p->common_prefixes[pi++]);
                } else {
                    got.push_back(p->versions[vi].key + ":" + p->versions[vi].version_id);
                    ++vi;
                }
            }
            if (!p->truncated) {
                EXPECT_TRUE(p->next_key_marker.empty());
                break;
            }
            q.key_marker = p->next_key_marker;
            q.version_id_marker = p->next_version_id_marker;
        }
        EXPECT_EQ(got, want) << "max_keys " << max;
    }
}

}  // namespace
}  // namespace moat::store

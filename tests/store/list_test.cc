#include <gtest/gtest.h>

#include "test_util.h"

namespace moat::store {
namespace {

using testing::put_ok;

class ListTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = Store::open(testing::settings_for(dir_.path()));
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        ASSERT_TRUE(store_->create_bucket("lst"));
    }
    std::vector<std::string> keys(const ListPage& p) {
        std::vector<std::string> out;
        for (const auto& o : p.objects) out.push_back(o.key);
        return out;
    }
    testing::TempDir dir_;
    std::unique_ptr<Store> store_;
};

TEST_F(ListTest, PrefixDelimiterAndOrder) {
    for (const char* k : {"a/1", "a/2", "a/b/3", "b", "c/x", "c/y", "d", "\xc3\xa9"})
        put_ok(*store_, "lst", k, k);
    auto p = store_->list("lst", {});
    ASSERT_TRUE(p);
    EXPECT_EQ(keys(*p), (std::vector<std::string>{"a/1", "a/2", "a/b/3", "b", "c/x", "c/y", "d",
                                                  "\xc3\xa9"}));
    EXPECT_FALSE(p->truncated);
    ListQuery q;
    q.delimiter = "/";
    p = store_->list("lst", q);
    EXPECT_EQ(keys(*p), (std::vector<std::string>{"b", "d", "\xc3\xa9"}));
    EXPECT_EQ(p->common_prefixes, (std::vector<std::string>{"a/", "c/"}));
    q.prefix = "a/";
    p = store_->list("lst", q);
    EXPECT_EQ(keys(*p), (std::vector<std::string>{"a/1", "a/2"}));
    EXPECT_EQ(p->common_prefixes, (std::vector<std::string>{"a/b/"}));
    ListQuery q2;
    q2.prefix = "c";
    EXPECT_EQ(keys(*store_->list("lst", q2)), (std::vector<std::string>{"c/x", "c/y"}));
}

TEST_F(ListTest, PaginatesWithoutRepeatsOrGaps) {
    std::vector<std::string> want;
    for (int i = 0; i < 30; ++i) {
        std::string k = "k" + std::to_string(100 + i);
        put_ok(*store_, "lst", k, "x");
        want.push_back(k);
        put_ok(*store_, "lst", "dir" + std::to_string(i % 5) + "/f" + std::to_string(i), "x");
    }
    // Deleted keys never show.
    put_ok(*store_, "lst", "k999", "x");
    ASSERT_TRUE(store_->remove("lst", "k999"));
    ListQuery q;
    q.delimiter = "/";
    q.max_keys = 4;
    std::vector<std::string> got, prefixes;
    int pages = 0;
    for (;;) {
        auto p = store_->list("lst", q);
        ASSERT_TRUE(p);
        ++pages;
        EXPECT_LE(p->objects.size() + p->common_prefixes.size(), 4u);
        for (auto& o : p->objects) got.push_back(o.key);
        for (auto& c : p->common_prefixes) prefixes.push_back(c);
        if (!p->truncated) break;
        EXPECT_FALSE(p->next_after.empty());
        q.after = p->next_after;
    }
    EXPECT_EQ(got, want);
    EXPECT_EQ(prefixes, (std::vector<std::string>{"dir0/", "dir1/", "dir2/", "dir3/", "dir4/"}));
    EXPECT_EQ(pages, 9);  // 35 entries, 4 a page
    ListQuery exact;
    exact.prefix = "k1";
    exact.max_keys = 30;
    auto p = store_->list("lst", exact);
    EXPECT_EQ(p->objects.size(), 30u);
    EXPECT_FALSE(p->truncated);
    exact.max_keys = 0;
    EXPECT_TRUE(store_->list("lst", exact)->objects.empty());
    EXPECT_EQ(reason_of(store_->list("nobucket", {}).error()), Reason::kNoSuchBucket);
}

TEST_F(ListTest, VersionsNewestFirstWithMarkersAndPaging) {
    ASSERT_TRUE(store_->set_versioning("lst", Versioning::kEnabled));
    std::vector<std::string> a, b;
    for (int i = 0; i < 3; ++i) a.push_back(put_ok(*store_, "lst", "a", "x").version_id);
    auto m = store_->remove("lst", "a");
    ASSERT_TRUE(m);
    a.push_back(m->version_id);
    for (int i = 0; i < 2; ++i) b.push_back(put_ok(*store_, "lst", "b", "x").version_id);
    auto all = store_->list_versions("lst", {});
    ASSERT_TRUE(all);
    ASSERT_EQ(all->versions.size(), 6u);
    std::vector<std::string> order;
    for (auto& v : all->versions) order.push_back(v.key + ":" + v.version_id);
    std::vector<std::string> want = {"a:" + a[3], "a:" + a[2], "a:" + a[1],
                                     "a:" + a[0], "b:" + b[1], "b:" + b[0]};
    EXPECT_EQ(order, want);
    EXPECT_TRUE(all->versions[0].delete_marker);
    EXPECT_TRUE(all->versions[0].is_latest);
    EXPECT_FALSE(all->versions[1].is_latest);
    EXPECT_TRUE(all->versions[4].is_latest);
    // Pages of 2 via key/version-id markers.
    VersionQuery q;
    q.max_keys = 2;
    std::vector<std::string> paged;
    for (;;) {
        auto p = store_->list_versions("lst", q);
        ASSERT_TRUE(p);
        for (auto& v : p->versions) paged.push_back(v.key + ":" + v.version_id);
        if (!p->truncated) break;
        q.key_marker = p->next_key_marker;
        q.version_id_marker = p->next_version_id_marker;
    }
    EXPECT_EQ(paged, want);
    // The plain listing hides "a" (its latest is a marker).
    auto l = store_->list("lst", {});
    ASSERT_EQ(l->objects.size(), 1u);
    EXPECT_EQ(l->objects[0].key, "b");
}

}  // namespace
}  // namespace moat::store

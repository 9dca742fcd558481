// PlainCache (decrypted plaintext of hot large blobs) on its own, then through LocalStore: a
// large object is decrypted into the cache on its second read and served from it after, ranges
// included; small (inline) objects never enter it; GC drops what it removed; freed buffers are
// reused, wiped.
#include "store/internal/plain_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "store/local_store.h"
#include "test_util.h"

namespace moat::store {
namespace {

using internal::PlainCache;
using testing::put_ok;
using testing::read_all;

std::shared_ptr<const PlainCache::Plain> plain(std::size_t n, char fill = 'p') {
    auto p = std::make_shared<PlainCache::Plain>(n);
    std::fill_n(p->data(), n, fill);
    return p;
}

// A read as SegmentReader does it: get, and on a miss put when admitted. True on a hit.
bool read(PlainCache& c, const std::string& id, std::size_t size) {
    if (c.get(id)) return true;
    if (c.admit(id, size)) c.put(id, plain(size));
    return false;
}

TEST(PlainCache, KeptOnTheSecondReadWithinItsLimits) {
    PlainCache c(1000, 400);
    EXPECT_FALSE(read(c, "a", 300));
    EXPECT_EQ(c.size(), 0u);  // one read is not enough
    EXPECT_FALSE(read(c, "a", 300));
    EXPECT_EQ(c.size(), 1u);
    EXPECT_TRUE(read(c, "a", 300));
    EXPECT_EQ(c.get("a")->size(), 300u);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(read(c, "huge", 500));  // over the object limit
    EXPECT_EQ(c.bytes(), 300u);
    c.erase("a");
    EXPECT_FALSE(c.get("a"));
    EXPECT_EQ(c.bytes(), 0u);

    PlainCache off(0, 400);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(read(off, "a", 10));
    EXPECT_EQ(off.size(), 0u);
}

// Five blobs read round-robin through a budget of two: a fixed pair stays and hits on every
// pass (LRU alone would evict each blob just before its next read and never hit), and a blob
// read more often than those displaces one.
TEST(PlainCache, CyclicReadsKeepAFixedSubsetAndPopularBlobsWin) {
    PlainCache c(200, 100);
    int hits = 0;
    for (int pass = 0; pass < 6; ++pass)
        for (int b = 0; b < 5; ++b) hits += read(c, "b" + std::to_string(b), 100);
    EXPECT_EQ(c.size(), 2u);
    EXPECT_EQ(c.bytes(), 200u);
    EXPECT_EQ(hits, 2 * 4);  // passes 3..6 hit the two kept on pass 2
    for (int i = 0; i < 10; ++i) read(c, "hot", 100);
    EXPECT_TRUE(c.get("hot"));
    EXPECT_EQ(c.size(), 2u);
}

// A buffer freed by one entry is reused by the next fill of a similar size, and comes back
// all zero: a shorter blob never finds the longer one's bytes after its end.
TEST(PlainCache, RecycledBuffersComeBackWiped) {
    PlainCache c(1 << 20, 512 * 1024);
    auto a = c.make_plain(300000);
    std::fill_n(a->data(), a->size(), 'A');
    const char* at = a->data();
    a.reset();
    EXPECT_EQ(c.buffers().kept(), 1u);
    auto b = c.make_plain(280000);  // less than an eighth smaller
    EXPECT_EQ(b->data(), at);
    EXPECT_EQ(c.buffers().kept(), 0u);
    ASSERT_GE(b->capacity(), 300000u);
    EXPECT_EQ(std::count(b->data(), b->data() + b->capacity(), '\0'),
              static_cast<std::ptrdiff_t>(b->capacity()));
    b.reset();
    auto tiny = c.make_plain(1000);  // far smaller: a buffer of its own, not the big one
    EXPECT_LT(tiny->capacity(), 300000u);
    EXPECT_EQ(c.buffers().kept(), 1u);

    // At most twice the object limit is kept; beyond, buffers are unmapped.
    std::vector<std::shared_ptr<PlainCache::Plain>> many;
    for (int i = 0; i < 4; ++i) many.push_back(c.make_plain(512 * 1024));
    many.clear();
    EXPECT_EQ(c.buffers().kept_bytes(), 1024u * 1024u);
}

TEST(PlainCache, EntriesOutliveEvictionWhileReadersHoldThem) {
    PlainCache c(100, 100);
    read(c, "a", 100);
    read(c, "a", 100);
    auto held = c.get("a");
    ASSERT_TRUE(held);
    c.erase("a");
    EXPECT_EQ(std::string(held->data(), held->size()),
              std::string(100, 'p'));  // still valid for the reader that has it
}

class PlainPathTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = testing::settings_for(dir_.path());
        s.inline_max = 1000;
        s.plain_cache_bytes = 1 << 20;
        s.plain_cache_max_object = 512 * 1024;
        auto st = LocalStore::open_local(s);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        ASSERT_TRUE(store_->create_bucket("bkt"));
    }
    testing::TempDir dir_;
    std::unique_ptr<LocalStore> store_;
};

TEST_F(PlainPathTest, LargeObjectsAreServedFromPlaintextAfterTheSecondRead) {
    std::string big = testing::random_data(300000, 9);  // five chunks, a partial last one
    put_ok(*store_, "bkt", "big", big);
    put_ok(*store_, "bkt", "small", "inline bytes");
    EXPECT_EQ(*read_all(*store_, "bkt", "big"), big);
    EXPECT_EQ(store_->plain_cache().size(), 0u);  // read once: not kept
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(*read_all(*store_, "bkt", "big"), big);
        EXPECT_EQ(*read_all(*store_, "bkt", "small"), "inline bytes");
    }
    EXPECT_EQ(store_->plain_cache().size(), 1u);  // the file blob only
    EXPECT_EQ(store_->plain_cache().bytes(), big.size());
    // Ranges from the cached plaintext, across chunk boundaries and at the end.
    auto r = store_->open_object("bkt", "big");
    ASSERT_TRUE(r);
    for (std::uint64_t off : {0ull, 65535ull, 65536ull, 131000ull, 299990ull}) {
        char buf[1000];
        auto n = (*r)->read_at(off, buf, sizeof buf);
        ASSERT_TRUE(n);
        std::size_t want = std::min<std::size_t>(sizeof buf, big.size() - off);
        ASSERT_EQ(*n, want);
        EXPECT_EQ(std::string(buf, *n), big.substr(off, want)) << off;
    }
    auto end = (*r)->read_at(big.size(), nullptr, 10);
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, 0u);
    r->reset();
    // A new version is a new blob; the old one's plaintext goes with the blob.
    std::string big2 = testing::random_data(200000, 10);
    put_ok(*store_, "bkt", "big", big2);
    EXPECT_EQ(*read_all(*store_, "bkt", "big"), big2);
    ASSERT_TRUE(store_->collect_garbage());
    EXPECT_EQ(store_->plain_cache().size(), 0u);
    EXPECT_EQ(*read_all(*store_, "bkt", "big"), big2);
}

}  // namespace
}  // namespace moat::store

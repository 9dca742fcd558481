// ObjectReader::view: zero-copy reads of a large object's plaintext from the plain cache.
// Whole and offset reads, a multipart object's segments, nullopt when the bytes are not kept,
// a slice outliving the entry it came from (erased by GC, evicted), and recycled buffers.
#include <gtest/gtest.h>

#include "store/local_store.h"
#include "test_util.h"

namespace moat::store {
namespace {

using testing::put_ok;
using testing::read_all;

constexpr std::size_t kMiB = 1024 * 1024;

// A store in `dir` with bucket "bkt", objects over 1000 bytes in blob files, and this plain
// cache.
std::unique_ptr<LocalStore> open_store(const std::string& dir, std::size_t budget,
                                       std::size_t max_object) {
    auto s = testing::settings_for(dir);
    s.inline_max = 1000;
    s.plain_cache_bytes = budget;
    s.plain_cache_max_object = max_object;
    auto st = LocalStore::open_local(s);
    EXPECT_TRUE(st) << st.error().detail;
    if (!st) return nullptr;
    EXPECT_TRUE((*st)->create_bucket("bkt"));
    return std::move(*st);
}

std::unique_ptr<ObjectReader> reader_of(Store& st, const std::string& key) {
    auto r = st.open_object("bkt", key);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? std::move(*r) : nullptr;
}

class ObjectViewTest : public ::testing::Test {
protected:
    void open(std::size_t budget, std::size_t max_object) {
        store_ = open_store(dir_.path(), budget, max_object);
        ASSERT_TRUE(store_);
    }
    std::unique_ptr<ObjectReader> reader(const std::string& key) {
        auto r = store_->open_object("bkt", key);
        EXPECT_TRUE(r) << (r ? "" : r.error().detail);
        return r ? std::move(*r) : nullptr;
    }
    // Every byte through view(), piece by piece as GetObject sends them; empty if any piece
    // was not lent.
    static std::string view_all(ObjectReader& r, std::uint64_t from, std::uint64_t to) {
        std::string out;
        while (from < to) {
            auto s = r.view(from, static_cast<std::size_t>(to - from));
            if (!s || s->bytes.empty()) return {};
            out.append(s->bytes);
            from += s->bytes.size();
        }
        return out;
    }
    testing::TempDir dir_;
    std::unique_ptr<LocalStore> store_;
};

TEST_F(ObjectViewTest, LendsTheRightBytesForWholeAndOffsetReads) {
    open(1 * kMiB, 512 * 1024);
    std::string big = testing::random_data(300000, 1);
    put_ok(*store_, "bkt", "big", big);
    EXPECT_FALSE(reader("big")->view(0, big.size()));  // a first read is not kept
    auto r = reader("big");
    auto whole = r->view(0, big.size());  // the second is
    ASSERT_TRUE(whole);
    EXPECT_EQ(whole->bytes, big);
    EXPECT_TRUE(whole->owner);
    for (std::uint64_t off : {1ull, 65535ull, 65536ull, 131000ull, 299990ull}) {
        auto s = r->view(off, 1000);
        ASSERT_TRUE(s) << off;
        std::size_t want = std::min<std::size_t>(1000, big.size() - off);
        EXPECT_EQ(s->bytes, big.substr(off, want)) << off;
    }
    EXPECT_FALSE(r->view(big.size(), 10));  // at the end: read_at says 0
    EXPECT_FALSE(r->view(0, 0));
    // Another reader is lent the same memory: no copy, one entry.
    auto again = reader("big")->view(100, 10);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->bytes.data(), whole->bytes.data() + 100);
    EXPECT_EQ(store_->plain_cache().size(), 1u);
}

TEST_F(ObjectViewTest, NulloptWhenTheBytesAreNotKept) {
    open(1 * kMiB, 512 * 1024);
    std::string big = testing::random_data(300000, 2);
    put_ok(*store_, "bkt", "big", big);
    put_ok(*store_, "bkt", "small", "inline bytes");
    put_ok(*store_, "bkt", "huge", testing::random_data(600000, 3));  // over the object limit

    // A range as the first read is not admitted; read_at serves it.
    auto r = reader("big");
    EXPECT_FALSE(r->view(1000, 500));
    char buf[500];
    auto n = r->read_at(1000, buf, sizeof buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string(buf, *n), big.substr(1000, 500));
    EXPECT_EQ(store_->plain_cache().size(), 0u);
    // Its second read is (a hot object served in ranges gets cached too).
    auto s = reader("big")->view(1000, 500);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->bytes, big.substr(1000, 500));

    EXPECT_FALSE(reader("small")->view(0, 12));
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(reader("huge")->view(0, 600000));

    // The cache off: never lent.
    testing::TempDir off_dir;
    auto off = open_store(off_dir.path(), 0, 512 * 1024);
    ASSERT_TRUE(off);
    put_ok(*off, "bkt", "big", big);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(reader_of(*off, "big")->view(0, big.size()));
    EXPECT_EQ(*read_all(*off, "bkt", "big"), big);
}

TEST_F(ObjectViewTest, ASliceEndsAtItsSegmentOfAMultipartObject) {
    open(16 * kMiB, 8 * kMiB);
    std::string p1 = testing::random_data(5 * kMiB, 4), p2 = testing::random_data(300000, 5);
    auto id = store_->create_upload("bkt", "mp", {});
    ASSERT_TRUE(id);
    testing::StringBody b1(p1), b2(p2);
    auto i1 = store_->put_part("bkt", "mp", *id, 1, b1);
    auto i2 = store_->put_part("bkt", "mp", *id, 2, b2);
    ASSERT_TRUE(i1 && i2);
    ASSERT_TRUE(store_->complete_upload("bkt", "mp", *id, {{1, i1->etag}, {2, i2->etag}}));
    const std::string all = p1 + p2;
    EXPECT_EQ(*read_all(*store_, "bkt", "mp"), all);  // the first read keeps nothing

    auto r = reader("mp");
    auto first = r->view(0, all.size());
    ASSERT_TRUE(first);
    EXPECT_EQ(first->bytes.size(), p1.size());  // the first segment only
    EXPECT_EQ(first->bytes, p1);
    auto edge = r->view(p1.size() - 10, 100);
    ASSERT_TRUE(edge);
    EXPECT_EQ(edge->bytes, p1.substr(p1.size() - 10));
    auto second_whole = r->view(p1.size(), all.size() - p1.size());
    ASSERT_TRUE(second_whole);
    EXPECT_EQ(second_whole->bytes, p2);
    auto second = r->view(p1.size() + 7, 1000);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->bytes, p2.substr(7, 1000));
    EXPECT_EQ(view_all(*reader("mp"), 0, all.size()), all);
    EXPECT_EQ(view_all(*reader("mp"), 12345, p1.size() + 5000),
              all.substr(12345, p1.size() - 7345));
    EXPECT_EQ(store_->plain_cache().size(), 2u);
}

TEST_F(ObjectViewTest, ASliceOutlivesItsEntry) {
    open(512 * 1024, 512 * 1024);
    std::string a = testing::random_data(300000, 6), b = testing::random_data(300000, 7);
    put_ok(*store_, "bkt", "a", a);
    put_ok(*store_, "bkt", "b", b);

    // Evicted: b, read more often than a, takes its place.
    EXPECT_FALSE(reader("a")->view(0, a.size()));
    auto held = reader("a")->view(0, a.size());  // the reader is gone; the slice stays
    ASSERT_TRUE(held);
    EXPECT_FALSE(reader("b")->view(0, b.size()));
    EXPECT_FALSE(reader("b")->view(0, b.size()));  // as often as a: no room, not kept
    ASSERT_TRUE(reader("b")->view(0, b.size()));
    EXPECT_EQ(store_->plain_cache().size(), 1u);
    EXPECT_EQ(store_->plain_cache().bytes(), b.size());
    EXPECT_EQ(held->bytes, a);  // not wiped while held
    std::size_t kept = store_->plain_cache().buffers().kept();
    held.reset();  // the last owner: a's buffer is wiped and kept for reuse
    EXPECT_EQ(store_->plain_cache().buffers().kept(), kept + 1);

    // Erased by garbage collection: the same.
    auto held_b = reader("b")->view(0, b.size());
    ASSERT_TRUE(held_b);
    ASSERT_TRUE(store_->remove("bkt", "b"));
    ASSERT_TRUE(store_->collect_garbage());
    EXPECT_EQ(store_->plain_cache().size(), 0u);
    EXPECT_EQ(held_b->bytes, b);
}

// A shorter blob filled into the buffer a longer one left: its slice is its own bytes only.
TEST_F(ObjectViewTest, ARecycledBufferLendsOnlyTheNewBlobsBytes) {
    open(512 * 1024, 512 * 1024);
    std::string a = testing::random_data(300000, 8), c = testing::random_data(290000, 9);
    put_ok(*store_, "bkt", "a", a);
    EXPECT_EQ(*read_all(*store_, "bkt", "a"), a);
    const char* at = reader("a")->view(0, a.size())->bytes.data();
    ASSERT_TRUE(store_->remove("bkt", "a"));
    ASSERT_TRUE(store_->collect_garbage());
    ASSERT_EQ(store_->plain_cache().buffers().kept(), 1u);
    put_ok(*store_, "bkt", "c", c);
    EXPECT_EQ(*read_all(*store_, "bkt", "c"), c);
    auto r = reader("c");
    auto s = r->view(0, 10 * a.size());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->bytes.data(), at);  // the same buffer
    EXPECT_EQ(s->bytes, c);
    EXPECT_FALSE(r->view(c.size(), a.size()));
    char tail[16];
    auto n = r->read_at(c.size() - 4, tail, sizeof tail);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 4u);
}

}  // namespace
}  // namespace moat::store

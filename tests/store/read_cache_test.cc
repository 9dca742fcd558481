// The GET path's caches: ReadCache and KeyCache on their own, then through LocalStore (a write
// retires the cached versions of the name it changed, a PUT installs its own, another process's
// writes retire everything; GC wipes the data keys of what it removed; rotation and overwrites
// never serve stale bytes), and BlobReader's whole-chunk reads into the caller's buffer.
#include "store/internal/read_cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "store/internal/key_cache.h"
#include "store/local_store.h"
#include "test_util.h"

namespace moat::store {
namespace {

using internal::KeyCache;
using internal::ReadCache;
using internal::ResolvedVersion;
using testing::put_ok;
using testing::read_all;

std::shared_ptr<const ResolvedVersion> version(std::string etag, std::size_t inline_bytes = 0) {
    auto v = std::make_shared<ResolvedVersion>();
    v->info.etag = std::move(etag);
    internal::BlobRef r;
    r.inline_bytes.assign(inline_bytes, 'x');
    v->refs.push_back(std::move(r));
    return v;
}

using internal::Stamp;

Stamp at(std::uint64_t name, std::uint64_t global = 0, std::uint64_t foreign = 0) {
    return Stamp{global, name, foreign};
}

// A name is kept on its second offer.
void put2(ReadCache& c, std::string_view b, std::string_view k, std::string_view vid, Stamp s,
          const std::shared_ptr<const ResolvedVersion>& v) {
    c.put(b, k, vid, s, v);
    c.put(b, k, vid, s, v);
}

TEST(ReadCache, ServesOnlyAtTheStampItWasFilledAt) {
    ReadCache c(100, 1 << 20);
    c.put("b", "k", "", at(5), version("e5"));
    EXPECT_FALSE(c.get("b", "k", "", at(5)));  // a name is kept the second time it is offered
    c.put("b", "k", "", at(5), version("e5"));
    ASSERT_TRUE(c.get("b", "k", "", at(5)));
    EXPECT_EQ(c.get("b", "k", "", at(5))->info.etag, "e5");
    EXPECT_FALSE(c.get("b", "k", "v1", at(5)));  // a named version is another entry
    EXPECT_FALSE(c.get("b", "k2", "", at(5)));
    EXPECT_FALSE(c.get("b", "k", "", at(6)));  // a write of the name ended since: dropped
    EXPECT_EQ(c.size(), 0u);
    EXPECT_FALSE(c.get("b", "k", "", at(5)));
    put2(c, "b", "k", "", at(5), version("old"));  // read before that write: never served
    EXPECT_FALSE(c.get("b", "k", "", at(6)));
    put2(c, "b", "k", "", at(6), version("e6"));
    EXPECT_EQ(c.get("b", "k", "", at(6))->info.etag, "e6");
    // Any other count moving retires it as well.
    EXPECT_FALSE(c.get("b", "k", "", at(6, 1)));
    put2(c, "b", "k", "", at(6, 1), version("g"));
    EXPECT_FALSE(c.get("b", "k", "", at(6, 1, 1)));
}

TEST(ReadCache, InstallKeepsAtOnceAndReadersDoNotReplaceIt) {
    ReadCache c(100, 1 << 20);
    c.install("b", "k", "", at(2), version("written"));
    ASSERT_TRUE(c.get("b", "k", "", at(2)));
    // A reader that looked before the install offers what it read: the installed one stays.
    put2(c, "b", "k", "", at(1), version("read"));
    EXPECT_EQ(c.get("b", "k", "", at(2))->info.etag, "written");
    c.install("b", "k", "", at(3), version("newer"));
    // A reader whose counts predate the install is not served it, and does not drop it.
    EXPECT_FALSE(c.get("b", "k", "", at(2)));
    EXPECT_EQ(c.get("b", "k", "", at(3))->info.etag, "newer");
    EXPECT_EQ(c.size(), 1u);
}

TEST(ReadCache, NamesCannotCollide) {
    ReadCache c(100, 1 << 20);
    put2(c, "b", std::string("k\0x", 3), "", at(1), version("a"));
    EXPECT_TRUE(c.get("b", std::string("k\0x", 3), "", at(1)));
    EXPECT_FALSE(c.get("b", "k", std::string("\0x", 2), at(1)));
    EXPECT_FALSE(c.get("bk", "", "", at(1)));
    put2(c, "b", "k", "v", at(1), version("b"));
    EXPECT_FALSE(c.get("b", "kv", "", at(1)));
}

TEST(ReadCache, EvictsLeastRecentlyUsedByCountAndBytes) {
    ReadCache c(3, 1 << 20);
    put2(c, "b", "1", "", at(0), version("1"));
    put2(c, "b", "2", "", at(0), version("2"));
    put2(c, "b", "3", "", at(0), version("3"));
    ASSERT_TRUE(c.get("b", "1", "", at(0)));  // 1 is now the most recent
    put2(c, "b", "4", "", at(0), version("4"));
    EXPECT_EQ(c.size(), 3u);
    EXPECT_FALSE(c.get("b", "2", "", at(0)));
    EXPECT_TRUE(c.get("b", "1", "", at(0)));
    EXPECT_TRUE(c.get("b", "4", "", at(0)));

    ReadCache small(100, 80000);
    put2(small, "b", "big", "", at(0), version("x", 20000));  // over max_bytes / 8: not kept
    EXPECT_FALSE(small.get("b", "big", "", at(0)));
    for (int i = 0; i < 20; ++i) put2(small, "b", std::to_string(i), "", at(0), version("x", 8000));
    EXPECT_LT(small.size(), 10u);  // the byte budget, not the entry limit, bounds it
    EXPECT_TRUE(small.get("b", "19", "", at(0)));

    // A large cache is sharded; its bounds still hold overall.
    ReadCache big(2048, 1 << 30);
    for (int i = 0; i < 5000; ++i) put2(big, "b", std::to_string(i), "", at(0), version("x"));
    EXPECT_LE(big.size(), 2048u);
    EXPECT_GT(big.size(), 1500u);
}

TEST(KeyCache, BoundedLruWithErase) {
    KeyCache c(2);
    c.put("a", "key-a");
    c.put("b", "key-b");
    EXPECT_EQ(*c.get("a"), "key-a");
    c.put("c", "key-c");  // evicts b, the least recently used
    EXPECT_FALSE(c.get("b"));
    EXPECT_EQ(*c.get("a"), "key-a");
    EXPECT_EQ(*c.get("c"), "key-c");
    c.erase("a");
    EXPECT_FALSE(c.get("a"));
    EXPECT_EQ(c.size(), 1u);
}

class ReadPathTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = testing::settings_for(dir_.path());
        s.inline_max = 1000;  // "small" is inline, "big" a file
        auto st = LocalStore::open_local(s);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        ASSERT_TRUE(store_->create_bucket("bkt"));
    }
    testing::TempDir dir_;
    std::unique_ptr<LocalStore> store_;
};

TEST_F(ReadPathTest, RepeatedGetsAreServedFromTheCache) {
    // Written by copy (not installed): a reader's name is kept on its second read.
    put_ok(*store_, "bkt", "src", "hello");
    ASSERT_TRUE(store_->copy("bkt", "src", "", "bkt", "small", std::nullopt));
    std::size_t before = store_->cached_versions();
    EXPECT_EQ(*read_all(*store_, "bkt", "small"), "hello");
    EXPECT_EQ(store_->cached_versions(), before);  // kept on the second read
    EXPECT_EQ(*read_all(*store_, "bkt", "small"), "hello");
    EXPECT_EQ(store_->cached_versions(), before + 1);
    std::uint64_t hits = store_->version_cache_hits();
    EXPECT_EQ(*read_all(*store_, "bkt", "small"), "hello");
    auto h = store_->head("bkt", "small");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->size, 5u);
    EXPECT_EQ(store_->version_cache_hits(), hits + 2);
}

// A PUT installs what it wrote (first GET is a hit); writing one name leaves the others cached;
// a write that names no key (set_versioning here) retires everything.
TEST_F(ReadPathTest, WritesRetireOnlyTheirOwnNames) {
    std::string big = testing::random_data(200000, 4);
    put_ok(*store_, "bkt", "a", "alpha");
    put_ok(*store_, "bkt", "big", big);
    std::uint64_t hits = store_->version_cache_hits();
    EXPECT_EQ(*read_all(*store_, "bkt", "a"), "alpha");
    EXPECT_EQ(*read_all(*store_, "bkt", "big"), big);
    EXPECT_EQ(store_->version_cache_hits(), hits + 2);  // installed by the PUTs
    put_ok(*store_, "bkt", "b", "beta");
    ASSERT_TRUE(store_->remove("bkt", "c"));
    ASSERT_TRUE(store_->copy("bkt", "a", "", "bkt", "d", std::nullopt));
    EXPECT_EQ(*read_all(*store_, "bkt", "a"), "alpha");
    EXPECT_EQ(*read_all(*store_, "bkt", "big"), big);
    EXPECT_EQ(*read_all(*store_, "bkt", "b"), "beta");
    EXPECT_EQ(store_->version_cache_hits(), hits + 5);
    // The same bytes again dedupe onto the existing blob: correct, just not installed.
    put_ok(*store_, "bkt", "a2", "alpha");
    EXPECT_EQ(*read_all(*store_, "bkt", "a2"), "alpha");
    ASSERT_TRUE(store_->set_versioning("bkt", Versioning::kEnabled));
    hits = store_->version_cache_hits();
    EXPECT_EQ(*read_all(*store_, "bkt", "a"), "alpha");
    EXPECT_EQ(store_->version_cache_hits(), hits);
}

// Several writers of one name at once: whatever order their commits and their cache installs
// interleave in, the cached answer is the committed latest (what a fresh store reads).
TEST_F(ReadPathTest, RacingWritersOfOneNameLeaveTheLatestCached) {
    for (int round = 0; round < 10; ++round) {
        std::vector<std::thread> ts;
        for (int t = 0; t < 4; ++t)
            ts.emplace_back([&, t] {
                for (int i = 0; i < 8; ++i)
                    put_ok(*store_, "bkt", "n", std::to_string(round * 100 + t * 10 + i));
            });
        for (auto& t : ts) t.join();
        auto fresh = LocalStore::open_local(testing::settings_for(dir_.path()));
        ASSERT_TRUE(fresh) << fresh.error().detail;
        auto want = read_all(**fresh, "bkt", "n");
        ASSERT_TRUE(want);
        EXPECT_EQ(*read_all(*store_, "bkt", "n"), *want) << "round " << round;
        EXPECT_EQ(store_->head("bkt", "n")->etag, (*fresh)->head("bkt", "n")->etag);
    }
}

// Another process's writes (a second store object on the same folder stands for one; a forked
// child is one) retire what this process cached, though they name no key here.
TEST_F(ReadPathTest, OtherProcessesWritesAreSeen) {
    put_ok(*store_, "bkt", "k", "mine");
    ASSERT_EQ(*read_all(*store_, "bkt", "k"), "mine");
    ASSERT_EQ(*read_all(*store_, "bkt", "k"), "mine");
    auto other = LocalStore::open_local(testing::settings_for(dir_.path()));
    ASSERT_TRUE(other) << other.error().detail;
    put_ok(**other, "bkt", "k", "theirs");
    EXPECT_EQ(*read_all(*store_, "bkt", "k"), "theirs");
    EXPECT_EQ(store_->head("bkt", "k")->size, 6u);
    ASSERT_EQ(*read_all(*store_, "bkt", "k"), "theirs");  // cached again
    ASSERT_TRUE((*other)->remove("bkt", "k"));
    EXPECT_FALSE(store_->open_object("bkt", "k"));
    other->reset();

    // A real second process: this test binary again, running only ReadPathChild below (a
    // plain fork would carry SQLite's per-process lock bookkeeping into the child).
    put_ok(*store_, "bkt", "k", "before");
    ASSERT_EQ(*read_all(*store_, "bkt", "k"), "before");
    ASSERT_EQ(*read_all(*store_, "bkt", "k"), "before");
    std::string env = "MOAT_STORE_CHILD_DIR=" + dir_.path();
    char* envp[] = {env.data(), nullptr};
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::execle("/proc/self/exe", "moat_store_test", "--gtest_filter=ReadPathChild.*",
                 static_cast<char*>(nullptr), envp);
        ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(*read_all(*store_, "bkt", "k"), "from the child");
}

// The child process of OtherProcessesWritesAreSeen: one PUT into the folder it is given.
TEST(ReadPathChild, PutsOneObject) {
    const char* dir = std::getenv("MOAT_STORE_CHILD_DIR");
    if (!dir) GTEST_SKIP() << "runs as the child of ReadPathTest.OtherProcessesWritesAreSeen";
    auto st = LocalStore::open_local(testing::settings_for(dir));
    ASSERT_TRUE(st) << st.error().detail;
    put_ok(**st, "bkt", "k", "from the child");
}

TEST_F(ReadPathTest, OverwriteDeleteAndCopyAreSeenAtOnce) {
    for (const char* key : {"small", "big"}) {
        std::string v1 = testing::random_data(key[0] == 's' ? 100 : 200000, 1);
        std::string v2 = testing::random_data(key[0] == 's' ? 120 : 150000, 2);
        put_ok(*store_, "bkt", key, v1);
        ASSERT_EQ(*read_all(*store_, "bkt", key), v1);
        ASSERT_EQ(*read_all(*store_, "bkt", key), v1);  // now cached
        ASSERT_EQ(store_->head("bkt", key)->size, v1.size());
        put_ok(*store_, "bkt", key, v2);  // unversioned: replaces the null version
        EXPECT_EQ(*read_all(*store_, "bkt", key), v2) << key;
        EXPECT_EQ(store_->head("bkt", key)->size, v2.size()) << key;
        ASSERT_TRUE(store_->copy("bkt", key, "", "bkt", std::string(key) + "-copy", std::nullopt));
        EXPECT_EQ(*read_all(*store_, "bkt", std::string(key) + "-copy"), v2);
        ASSERT_TRUE(store_->remove("bkt", key));
        auto gone = store_->open_object("bkt", key);
        ASSERT_FALSE(gone) << key;
        EXPECT_EQ(reason_of(gone.error()), Reason::kNoSuchKey);
        EXPECT_FALSE(store_->head("bkt", key));
    }
}

TEST_F(ReadPathTest, DeleteMarkerAndNamedVersionsOnAVersionedBucket) {
    ASSERT_TRUE(store_->set_versioning("bkt", Versioning::kEnabled));
    auto v1 = put_ok(*store_, "bkt", "k", "one");
    ASSERT_EQ(*read_all(*store_, "bkt", "k"), "one");
    ASSERT_EQ(*read_all(*store_, "bkt", "k", v1.version_id), "one");
    ASSERT_EQ(*read_all(*store_, "bkt", "k"), "one");
    ASSERT_EQ(*read_all(*store_, "bkt", "k", v1.version_id), "one");
    ASSERT_TRUE(store_->remove("bkt", "k"));  // a delete marker becomes the latest
    auto latest = store_->open_object("bkt", "k");
    ASSERT_FALSE(latest);
    EXPECT_EQ(reason_of(latest.error()), Reason::kDeleteMarker);
    EXPECT_EQ(*read_all(*store_, "bkt", "k", v1.version_id), "one");  // still there by id
    auto info = store_->head("bkt", "k", v1.version_id);
    ASSERT_TRUE(info);
    EXPECT_FALSE(info->is_latest);  // not the record cached while it was the latest
    ASSERT_TRUE(store_->remove("bkt", "k", v1.version_id));
    EXPECT_FALSE(read_all(*store_, "bkt", "k", v1.version_id));
}

TEST_F(ReadPathTest, GarbageCollectionWipesTheKeysOfWhatItRemoved) {
    std::string data = testing::random_data(5000);
    put_ok(*store_, "bkt", "big", data);
    ASSERT_EQ(*read_all(*store_, "bkt", "big"), data);
    EXPECT_EQ(store_->cached_data_keys(), 1u);
    ASSERT_TRUE(store_->remove("bkt", "big"));
    ASSERT_EQ(*store_->collect_garbage(), 1u);
    EXPECT_EQ(store_->cached_data_keys(), 0u);  // a deleted object's key is not kept
    EXPECT_FALSE(read_all(*store_, "bkt", "big"));
    // The same bytes again: a new blob with a new file id and data key, readable.
    put_ok(*store_, "bkt", "big", data);
    EXPECT_EQ(*read_all(*store_, "bkt", "big"), data);
}

TEST_F(ReadPathTest, RotateKeyThenGetStillWorks) {
    std::string big = testing::random_data(300000, 3);
    put_ok(*store_, "bkt", "big", big);
    put_ok(*store_, "bkt", "small", "tiny");
    for (int i = 0; i < 2; ++i) {  // cached, with their unsealed keys
        ASSERT_EQ(*read_all(*store_, "bkt", "big"), big);
        ASSERT_EQ(*read_all(*store_, "bkt", "small"), "tiny");
    }
    ASSERT_EQ(store_->cached_versions(), 2u);
    auto n = store_->rotate_master_key();
    ASSERT_TRUE(n) << n.error().detail;
    std::uint64_t hits = store_->version_cache_hits();
    ASSERT_TRUE(store_->head("bkt", "big"));  // the rotation's commit retired the cache
    EXPECT_EQ(store_->version_cache_hits(), hits);
    EXPECT_EQ(*read_all(*store_, "bkt", "big"), big);
    EXPECT_EQ(*read_all(*store_, "bkt", "small"), "tiny");
    // And from a fresh process, where nothing is cached: the re-sealed keys open.
    store_.reset();
    auto st = LocalStore::open_local(testing::settings_for(dir_.path()));
    ASSERT_TRUE(st) << st.error().detail;
    EXPECT_EQ(*read_all(**st, "bkt", "big"), big);
    EXPECT_EQ(*read_all(**st, "bkt", "small"), "tiny");
}

// A GET that starts after a PUT returned never sees an older version, whatever the cache held:
// writers publish the number they wrote after put() returns; readers must see at least it.
TEST_F(ReadPathTest, NoStaleReadAfterAWriteReturned) {
    constexpr int kWrites = 60;
    put_ok(*store_, "bkt", "n", "0");
    std::atomic<int> published{0};
    std::atomic<bool> stop{false};
    std::atomic<int> stale{0}, failed{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&] {
            while (!stop) {
                int floor = published.load();
                auto got = read_all(*store_, "bkt", "n");
                if (!got) {
                    ++failed;
                    continue;
                }
                if (std::stoi(*got) < floor) ++stale;
            }
        });
    }
    for (int i = 1; i <= kWrites; ++i) {
        put_ok(*store_, "bkt", "n", std::to_string(i));
        published = i;
        std::this_thread::yield();
    }
    stop = true;
    for (auto& r : readers) r.join();
    EXPECT_EQ(stale.load(), 0);
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(*read_all(*store_, "bkt", "n"), std::to_string(kWrites));
}

TEST_F(ReadPathTest, WholeChunkReadsMatchAnyBufferSize) {
    const std::size_t c = 64 * 1024;
    std::string data = testing::random_data(9 * c + 77, 5);  // more than one run of chunks
    put_ok(*store_, "bkt", "big", data);
    for (std::size_t piece : {std::size_t{1000}, c, c + 1, 3 * c, 5 * c - 1, 16 * c}) {
        for (std::uint64_t start : {std::uint64_t{0}, std::uint64_t{c}, std::uint64_t{c + 9}}) {
            auto rd = store_->open_object("bkt", "big");
            ASSERT_TRUE(rd);
            std::string out;
            std::string buf(piece, '\0');
            for (std::uint64_t off = start;;) {
                auto n = (*rd)->read_at(off, buf.data(), buf.size());
                ASSERT_TRUE(n) << n.error().detail;
                if (*n == 0) break;
                out.append(buf.data(), *n);
                off += *n;
            }
            EXPECT_TRUE(out == data.substr(start)) << "piece " << piece << " start " << start;
        }
    }
}

TEST_F(ReadPathTest, DamagedChunkInAWholeChunkReadLeavesNoUnauthenticatedBytes) {
    const std::size_t c = 64 * 1024;
    std::string data = testing::random_data(4 * c, 6);
    put_ok(*store_, "bkt", "big", data);
    std::string file;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir_.path() + "/blobs"))
        if (e.is_regular_file()) file = e.path().string();
    ASSERT_FALSE(file.empty());
    {
        // A byte of chunk 2's ciphertext (header 24 bytes, each chunk + 16 bytes of tag).
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        std::streamoff at = 24 + 2 * (c + 16) + 1000;
        char b = 0;
        f.seekg(at);
        f.read(&b, 1);
        b ^= 0x40;
        f.seekp(at);
        f.write(&b, 1);
    }
    auto rd = store_->open_object("bkt", "big");
    ASSERT_TRUE(rd);
    std::string buf(4 * c, 'X');
    auto n = (*rd)->read_at(0, buf.data(), buf.size());
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().detail.find("chunk 2"), std::string::npos) << n.error().detail;
    EXPECT_EQ(buf.substr(2 * c, c), std::string(c, '\0'));  // wiped, not the forged plaintext
}

}  // namespace
}  // namespace moat::store

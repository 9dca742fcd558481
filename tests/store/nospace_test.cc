// ENOSPC: a PUT that runs out of disk fails with kNoSpace, leaves no temp file or object behind,
// and the store works again once space is freed. Needs a small file system: a tmpfs mounted for
// the test (root only; skipped otherwise).
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "test_util.h"

namespace moat::store {
namespace {

class SmallFs {
public:
    explicit SmallFs(const std::string& at) : at_(at) {
        std::filesystem::create_directories(at);
        ok_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, "size=4m,mode=0700") == 0;
    }
    ~SmallFs() {
        if (ok_) ::umount2(at_.c_str(), MNT_DETACH);
    }
    bool ok() const { return ok_; }

private:
    std::string at_;
    bool ok_ = false;
};

TEST(NoSpace, PutFailsCleanlyAndTheStoreRecovers) {
    testing::TempDir dir;
    std::string mnt = dir.path() + "/mnt";
    SmallFs fs(mnt);
    if (!fs.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
    auto settings = testing::settings_for(mnt + "/store");
    settings.min_free_bytes = 512 * 1024;
    auto st = Store::open(settings);
    ASSERT_TRUE(st) << st.error().detail;
    Store& s = **st;
    ASSERT_TRUE(s.create_bucket("full"));
    std::string data = testing::random_data(512 * 1024);
    int stored = 0;
    Error last;
    for (int i = 0; i < 20; ++i) {
        data[0] = static_cast<char>(i);  // distinct blobs
        testing::StringBody b(data);
        auto r = s.put("full", "k" + std::to_string(i), b, {});
        if (!r) {
            last = r.error();
            break;
        }
        ++stored;
    }
    ASSERT_LT(stored, 20) << "the file system never filled up";
    EXPECT_EQ(reason_of(last), Reason::kNoSpace) << last.detail;
    EXPECT_EQ(last.code, Errc::kUnavailable);
    EXPECT_EQ(reason_of(s.head("full", "k" + std::to_string(stored)).error()), Reason::kNoSuchKey);
    EXPECT_TRUE(std::filesystem::is_empty(settings.dir + "/tmp"));
    // Free space, then the store takes writes again.
    for (int i = 0; i < stored; ++i) ASSERT_TRUE(s.remove("full", "k" + std::to_string(i)));
    auto gc = s.collect_garbage();
    ASSERT_TRUE(gc) << gc.error().detail;
    EXPECT_EQ(*gc, static_cast<std::uint64_t>(stored));
    testing::StringBody again(data);
    auto r = s.put("full", "again", again, {});
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(*testing::read_all(s, "full", "again"), data);
    st->reset();
}

}  // namespace
}  // namespace moat::store

namespace moat::store {
namespace {

// Without the reserve the OS's own ENOSPC comes back: still kNoSpace, still nothing left behind.
TEST(NoSpace, RealEnospcIsReportedAsNoSpace) {
    testing::TempDir dir;
    std::string mnt = dir.path() + "/mnt";
    SmallFs fs(mnt);
    if (!fs.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
    auto settings = testing::settings_for(mnt + "/store");
    auto st = Store::open(settings);
    ASSERT_TRUE(st) << st.error().detail;
    ASSERT_TRUE((*st)->create_bucket("full"));
    std::string data = testing::random_data(6 * 1024 * 1024);
    testing::StringBody b(data);
    auto r = (*st)->put("full", "big", b, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kNoSpace) << r.error().detail;
    EXPECT_TRUE(std::filesystem::is_empty(settings.dir + "/tmp"));
    EXPECT_EQ(reason_of((*st)->head("full", "big").error()), Reason::kNoSuchKey);
    testing::StringBody small("fits");
    EXPECT_TRUE((*st)->put("full", "small", small, {}));
}

}  // namespace
}  // namespace moat::store

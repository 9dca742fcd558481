// core/files: whole-file reads, atomic replacement, create-once and mkdir -p.
#include "core/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace moat::core {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
protected:
    unsigned mode_of(const std::string& p) {
        struct stat st {};
        EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
        return st.st_mode & 07777;
    }
    // Names in the folder other than `keep`: temp files left behind would show here.
    std::set<std::string> others(const std::string& keep) {
        std::set<std::string> out;
        for (const auto& e : fs::directory_iterator(dir_))
            if (e.path().filename() != keep) out.insert(e.path().filename().string());
        return out;
    }
    test_support::TempDir tmp_{"moat-core"};
    std::string dir_ = tmp_.path();
};

TEST_F(FilesTest, ReadsWholeFilesAndNamesAMissingOne) {
    std::string big(100000, 'x');
    big[77777] = 'y';
    ASSERT_TRUE(write_file_atomic(dir_ + "/big", big, 0600));
    auto r = read_file(dir_ + "/big");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, big);
    auto missing = read_file(dir_ + "/nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::kNotFound);
    EXPECT_NE(missing.error().detail.find(dir_ + "/nope"), std::string::npos);
    auto folder = read_file(dir_);
    ASSERT_FALSE(folder);
    EXPECT_EQ(folder.error().code, Errc::kIo);
}

TEST_F(FilesTest, WriteReplacesWithTheExactModeWhateverTheUmask) {
    mode_t old = ::umask(077);
    auto a = write_file_atomic(dir_ + "/f", "first", 0644);
    ::umask(old);
    ASSERT_TRUE(a);
    EXPECT_EQ(mode_of(dir_ + "/f"), 0644u);
    ASSERT_TRUE(write_file_atomic(dir_ + "/f", "second", 0600));
    EXPECT_EQ(*read_file(dir_ + "/f"), "second");
    EXPECT_EQ(mode_of(dir_ + "/f"), 0600u);
    EXPECT_TRUE(others("f").empty());
}

TEST_F(FilesTest, WriteIntoAMissingFolderFailsAndLeavesNothing) {
    auto r = write_file_atomic(dir_ + "/no/such/f", "x", 0600);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kNotFound);
    EXPECT_TRUE(others("").empty());
}

TEST_F(FilesTest, CreateOnceKeepsTheFirstFile) {
    auto first = create_file_once(dir_ + "/key", "first key", 0600);
    ASSERT_TRUE(first);
    EXPECT_TRUE(*first);
    auto second = create_file_once(dir_ + "/key", "second key", 0644);
    ASSERT_TRUE(second);
    EXPECT_FALSE(*second);
    EXPECT_EQ(*read_file(dir_ + "/key"), "first key");
    EXPECT_EQ(mode_of(dir_ + "/key"), 0600u);
    EXPECT_TRUE(others("key").empty());
}

// Threads of one process writing one name at once: every temp name is their own, so each write
// succeeds whole, the file ends as one of them, and no temp file is left.
TEST_F(FilesTest, ConcurrentWritersNeverShareATempFile) {
    constexpr int kThreads = 4, kWrites = 200;
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            std::string body(4096 + t, static_cast<char>('a' + t));
            for (int i = 0; i < kWrites; ++i)
                if (!write_file_atomic(dir_ + "/shared", body, 0600)) ++failed;
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(failed.load(), 0);
    auto r = read_file(dir_ + "/shared");
    ASSERT_TRUE(r);
    ASSERT_GE(r->size(), 4096u);
    int t = static_cast<int>(r->size()) - 4096;
    EXPECT_EQ(*r, std::string(4096 + t, static_cast<char>('a' + t)));
    EXPECT_TRUE(others("shared").empty());
}

TEST_F(FilesTest, MakeDirsCreatesEveryLevelWithTheMode) {
    mode_t old = ::umask(022);
    auto made = make_dirs(dir_ + "/a/b/c", 0750);
    ::umask(old);
    ASSERT_TRUE(made);
    EXPECT_EQ(mode_of(dir_ + "/a"), 0750u);
    EXPECT_EQ(mode_of(dir_ + "/a/b/c"), 0750u);
    EXPECT_TRUE(fs::is_directory(dir_ + "/a/b/c"));
    EXPECT_TRUE(make_dirs(dir_ + "/a/b/c", 0700));  // existing: fine
    ASSERT_TRUE(write_file_atomic(dir_ + "/file", "x", 0600));
    EXPECT_FALSE(make_dirs(dir_ + "/file/sub", 0700));
}

}  // namespace
}  // namespace moat::core

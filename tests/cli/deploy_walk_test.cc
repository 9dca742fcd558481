// Step 1 of a deploy: the folder walk refuses what cannot be published, naming each path,
// before anything is sent; hashing is SHA-256 of the bytes.
#include "cli/deploy_walk.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace moat::cli {
namespace {

namespace fs = std::filesystem;

class Folder : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "moat-walk-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        root_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ec);
        for (auto& e : fs::recursive_directory_iterator(root_, ec))
            fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(root_, ec);
    }
    void write(const std::string& rel, const std::string& body) {
        fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
        std::ofstream(root_ + "/" + rel, std::ios::binary) << body;
    }
    std::string root_;
};

TEST_F(Folder, ListsEveryFileSortedWithSizes) {
    write("index.html", "hello");
    write("docs/a.html", "");
    write(".well-known/security.txt", "x");  // dot files too: nothing skipped silently
    auto r = walk_folder(root_ + "/");
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].path, ".well-known/security.txt");
    EXPECT_EQ((*r)[1].path, "docs/a.html");
    EXPECT_EQ((*r)[1].size, 0u);
    EXPECT_EQ((*r)[2].path, "index.html");
    EXPECT_EQ((*r)[2].size, 5u);
    EXPECT_EQ((*r)[2].abs, root_ + "/index.html");
}

TEST_F(Folder, HashesFilesInParallel) {
    write("a", "abc");
    write("b", "");
    for (int i = 0; i < 20; ++i) write("many/" + std::to_string(i), "abc");
    auto r = walk_folder(root_);
    ASSERT_TRUE(r);
    ASSERT_TRUE(hash_files(*r, 4));
    for (const auto& f : *r) {
        if (f.path == "b")
            EXPECT_EQ(f.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        else
            EXPECT_EQ(f.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}

TEST_F(Folder, HashingNoticesAFileThatChanged) {
    write("a", "abc");
    auto r = walk_folder(root_);
    ASSERT_TRUE(r);
    write("a", "abcdef");
    auto h = hash_files(*r, 2);
    ASSERT_FALSE(h);
    EXPECT_NE(h.error().detail.find("changed"), std::string::npos);
}

TEST_F(Folder, RefusesSymlinksAnywhereBelow) {
    write("index.html", "x");
    write("deep/er/page.html", "x");
    fs::create_symlink("/etc/passwd", root_ + "/deep/er/passwd");
    fs::create_directory_symlink("/etc", root_ + "/etc-dir");
    auto r = walk_folder(root_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    const std::string& d = r.error().detail;
    EXPECT_NE(d.find("deep/er/passwd: symbolic link"), std::string::npos) << d;
    EXPECT_NE(d.find("etc-dir: symbolic link"), std::string::npos) << d;
    EXPECT_NE(d.find("2 paths cannot be published"), std::string::npos) << d;
}

TEST_F(Folder, TheFolderItselfMayBeASymlink) {
    write("real/index.html", "x");
    fs::create_directory_symlink(root_ + "/real", root_ + "/public");
    auto r = walk_folder(root_ + "/public");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->size(), 1u);
}

TEST_F(Folder, RefusesFifosAndSockets) {
    write("index.html", "x");
    ASSERT_EQ(::mkfifo((root_ + "/pipe").c_str(), 0600), 0);
    int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string sock = root_ + "/sock";
    ASSERT_LT(sock.size(), sizeof a.sun_path);
    std::memcpy(a.sun_path, sock.c_str(), sock.size() + 1);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(s);
    auto r = walk_folder(root_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("pipe: special file (a FIFO)"), std::string::npos)
        << r.error().detail;
    EXPECT_NE(r.error().detail.find("sock: special file (a socket)"), std::string::npos);
}

TEST_F(Folder, RefusesUnreadableFilesAndFolders) {
    if (::geteuid() == 0) GTEST_SKIP() << "root reads mode-000 files";
    write("secret.txt", "x");
    write("closed/a.html", "x");
    ::chmod((root_ + "/secret.txt").c_str(), 0);
    ::chmod((root_ + "/closed").c_str(), 0);
    auto r = walk_folder(root_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("secret.txt: unreadable"), std::string::npos)
        << r.error().detail;
    EXPECT_NE(r.error().detail.find("closed/: unreadable folder"), std::string::npos);
}

TEST_F(Folder, RefusesControlCharactersAndLongPaths) {
    write("bad\nname.html", "x");
    std::string deep;
    while (deep.size() <= kMaxDeployPath) deep += std::string(200, 'd') + "/";
    write(deep + "x.html", "x");
    auto r = walk_folder(root_);
    ASSERT_FALSE(r);
    const std::string& d = r.error().detail;
    EXPECT_NE(d.find("bad\\x0aname.html: control characters"), std::string::npos) << d;
    EXPECT_NE(d.find("path longer than 1024 bytes"), std::string::npos) << d;
}

TEST_F(Folder, EmptyOrMissingFolderIsAnError) {
    fs::create_directories(root_ + "/only/folders");
    auto r = walk_folder(root_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("no files to publish"), std::string::npos);
    auto m = walk_folder(root_ + "/nope");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, Errc::kNotFound);
    write("file", "x");
    auto f = walk_folder(root_ + "/file");
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, Errc::kNotFound);
}

TEST_F(Folder, ListsAtMostTwentyProblems) {
    write("ok", "x");
    for (int i = 0; i < 25; ++i)
        fs::create_symlink("/etc/passwd", root_ + "/l" + std::to_string(100 + i));
    auto r = walk_folder(root_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("25 paths"), std::string::npos);
    EXPECT_NE(r.error().detail.find("... and 5 more"), std::string::npos);
}

}  // namespace
}  // namespace moat::cli

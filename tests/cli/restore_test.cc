// moat restore: a store backup (Store::backup) and the files beside it come back into a new
// data folder; an existing store or an incomplete backup is refused before anything changes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/release_commands.h"
#include "store/memory_body.h"
#include "tls/tls_test_util.h"

namespace moat::cli {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class RestoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        backup_ = dir_.file("backup");
        store::StoreSettings s;
        s.enabled = true;
        s.dir = dir_.file("live/store");
        auto st = store::Store::open(s);
        ASSERT_TRUE(st) << st.error().detail;
        const std::string big(100000, 'x');  // big enough for a blob file
        store::MemoryBody body(big);
        auto put = (*st)->put("content", "testing/example.com/index.html", body, {});
        ASSERT_TRUE(put) << put.error().detail;
        auto rep = (*st)->backup(backup_ + "/store");
        ASSERT_TRUE(rep) << rep.error().detail;
        for (const char* f : {"releases.db", "admin.db", "audit.db", "admin.key", "audit.db.head"})
            std::ofstream(backup_ + "/" + f) << "contents of " << f;
    }
    tls::testing::TempDir dir_;
    std::string backup_;
};

TEST_F(RestoreTest, RestoresTheStoreAndTheFilesBesideIt) {
    std::string target = dir_.file("new/store");
    auto rep = restore_backup(backup_, target);
    ASSERT_TRUE(rep) << rep.error().detail;
    EXPECT_GE(rep->objects, 1u);
    EXPECT_EQ(slurp(target + "/releases.db"), "contents of releases.db");
    EXPECT_EQ(slurp(target + "/audit.db.head"), "contents of audit.db.head");
    struct stat st {};
    ASSERT_EQ(::stat((target + "/admin.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    store::StoreSettings s;
    s.enabled = true;
    s.dir = target;
    auto opened = store::Store::open(s);
    ASSERT_TRUE(opened) << opened.error().detail;
    auto head = (*opened)->head("content", "testing/example.com/index.html");
    ASSERT_TRUE(head) << head.error().detail;
    EXPECT_EQ(head->size, 100000u);
}

TEST_F(RestoreTest, RefusesAnExistingStore) {
    std::string target = dir_.file("live/store");
    auto rep = restore_backup(backup_, target);
    ASSERT_FALSE(rep);
    EXPECT_EQ(rep.error().code, Errc::kConflict);
    EXPECT_NE(rep.error().detail.find("move it away"), std::string::npos);
}

TEST_F(RestoreTest, RefusesAnIncompleteBackupBeforeWriting) {
    fs::remove(backup_ + "/admin.key");
    std::string target = dir_.file("new/store");
    auto rep = restore_backup(backup_, target);
    ASSERT_FALSE(rep);
    EXPECT_EQ(rep.error().code, Errc::kInvalidArgument);
    EXPECT_NE(rep.error().detail.find("admin.key: missing"), std::string::npos);
    EXPECT_FALSE(fs::exists(target));
    auto none = restore_backup(dir_.file("nothing"), target);
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().detail.find("is " + dir_.file("nothing") + " a backup?"),
              std::string::npos);
}

TEST_F(RestoreTest, OptionalHeadFileMayBeAbsent) {
    fs::remove(backup_ + "/audit.db.head");
    std::string target = dir_.file("new/store");
    auto rep = restore_backup(backup_, target);
    ASSERT_TRUE(rep) << rep.error().detail;
    EXPECT_FALSE(fs::exists(target + "/audit.db.head"));
}

}  // namespace
}  // namespace moat::cli

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "store/sqlite_backup.h"
#include "test_util.h"

namespace moat::store {
namespace {

namespace fs = std::filesystem;
using testing::put_ok;

// Every version of every bucket: "bucket/key@version" -> bytes ("<marker>" for a marker).
std::map<std::string, std::string> everything(Store& st) {
    std::map<std::string, std::string> out;
    auto bs = st.buckets();
    EXPECT_TRUE(bs);
    for (const auto& b : *bs) {
        VersionQuery q;
        for (;;) {
            auto page = st.list_versions(b.name, q);
            EXPECT_TRUE(page) << page.error().detail;
            if (!page) return out;
            for (const auto& v : page->versions) {
                std::string id = b.name + "/" + v.key + "@" + v.version_id;
                if (v.delete_marker) {
                    out[id] = "<marker>";
                    continue;
                }
                auto data = testing::read_all(st, b.name, v.key, v.version_id);
                EXPECT_TRUE(data) << id;
                out[id] = data ? *data : "<unreadable>";
            }
            if (!page->truncated) break;
            q.key_marker = page->next_key_marker;
            q.version_id_marker = page->next_version_id_marker;
        }
    }
    return out;
}

int mode_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return -1;
    return static_cast<int>(st.st_mode & 0777);
}

class BackupTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto st = Store::open(testing::settings_for(src_.path() + "/store"));
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        ASSERT_TRUE(store_->create_bucket("vvv"));
        ASSERT_TRUE(store_->set_versioning("vvv", Versioning::kEnabled));
        ASSERT_TRUE(store_->create_bucket("uuu"));
        for (int i = 0; i < 6; ++i) {
            // Blob files and inline rows, several versions per key, a marker, a shared blob.
            put_ok(*store_, "vvv", "k" + std::to_string(i % 3),
                   testing::random_data(i % 2 ? 70000 : 500, static_cast<unsigned>(i)));
        }
        put_ok(*store_, "uuu", "same", testing::random_data(70000, 1));
        ASSERT_TRUE(store_->remove("vvv", "k2"));
    }
    std::string dest() const { return out_.path() + "/backup"; }
    testing::TempDir src_, out_;
    std::unique_ptr<Store> store_;
};

TEST_F(BackupTest, BackupWhileWritingRestoresEveryVersionByteExact) {
    auto before = everything(*store_);
    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    // The writer also deletes versions it wrote before, so garbage collection (running all the
    // time) has blob files to remove while the backup copies them.
    std::thread writer([&] {
        std::vector<ObjectInfo> mine;
        for (int i = 0; !stop && i < 2000; ++i) {
            testing::StringBody body(testing::random_data(i % 2 ? 40000 : 300, 100 + i));
            auto put = store_->put("vvv", "w" + std::to_string(i % 7), body, {});
            if (!put) continue;
            ++written;
            mine.push_back(*put);
            if (mine.size() > 3) {
                (void)store_->remove("vvv", mine.front().key, mine.front().version_id);
                mine.erase(mine.begin());
            }
        }
    });
    std::thread gc([&] {
        while (!stop) (void)store_->collect_garbage();
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (written < 20 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    EXPECT_GE(written, 20);
    auto rep = store_->backup(dest());
    stop = true;
    writer.join();
    gc.join();
    ASSERT_TRUE(rep) << rep.error().detail;
    EXPECT_GT(rep->blobs, 0u);
    EXPECT_GT(rep->bytes, 0u);
    EXPECT_EQ(mode_of(dest() + "/master.key"), 0600);
    EXPECT_EQ(mode_of(dest() + "/meta.db"), 0600);
    EXPECT_FALSE(fs::exists(dest() + "/meta.db-wal"));

    auto settings = testing::settings_for(out_.path() + "/restored");
    auto rr = Store::restore(dest(), settings);
    ASSERT_TRUE(rr) << rr.error().detail;
    EXPECT_EQ(rr->objects, rep->objects);
    EXPECT_EQ(rr->blobs, rep->blobs);
    EXPECT_EQ(rr->bytes, rep->bytes);
    auto restored = Store::open(settings);
    ASSERT_TRUE(restored) << restored.error().detail;
    auto got = everything(**restored);
    EXPECT_EQ(got.size(), rep->objects);
    // Everything from before the backup is there; everything there equals the live store's.
    for (const auto& [id, data] : before) {
        auto it = got.find(id);
        ASSERT_NE(it, got.end()) << id;
        EXPECT_TRUE(it->second == data) << id;
    }
    // Versions the writer removed after the snapshot are only in the backup (read back above,
    // so decrypted and authenticated); the rest equal the live store's.
    auto live = everything(*store_);
    int removed_since = 0;
    for (const auto& [id, data] : got) {
        auto it = live.find(id);
        if (it == live.end()) {
            EXPECT_EQ(id.rfind("vvv/w", 0), 0u) << id;
            ++removed_since;
            continue;
        }
        EXPECT_TRUE(it->second == data) << id;
    }
    EXPECT_LE(removed_since, 3 + written.load());
    auto scrub = (*restored)->scrub();
    ASSERT_TRUE(scrub);
    EXPECT_TRUE(scrub->missing.empty());
    EXPECT_TRUE(scrub->damaged.empty());
}

TEST_F(BackupTest, BackupRefusesNonEmptyFolder) {
    fs::create_directories(dest());
    { std::ofstream(dest() + "/precious") << "keep me"; }
    auto r = store_->backup(dest());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_EQ(testing::file_bytes(dest() + "/precious"), "keep me");
    EXPECT_FALSE(fs::exists(dest() + "/meta.db"));
}

TEST_F(BackupTest, BackupIntoEmptyFolderWorks) {
    fs::create_directories(dest());
    ASSERT_TRUE(store_->backup(dest()));
    EXPECT_TRUE(fs::exists(dest() + "/meta.db"));
}

TEST_F(BackupTest, RestoreRefusesNonEmptyFolder) {
    ASSERT_TRUE(store_->backup(dest()));
    auto settings = testing::settings_for(out_.path() + "/busy");
    fs::create_directories(settings.dir);
    { std::ofstream(settings.dir + "/x") << "x"; }
    auto r = Store::restore(dest(), settings);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_FALSE(fs::exists(settings.dir + "/meta.db"));
    EXPECT_EQ(testing::file_bytes(settings.dir + "/x"), "x");
    // An empty folder is fine: the restored one replaces it.
    fs::remove(settings.dir + "/x");
    ASSERT_TRUE(Store::restore(dest(), settings));
    auto restored = Store::open(settings);
    ASSERT_TRUE(restored) << restored.error().detail;
    EXPECT_EQ(everything(**restored), everything(*store_));
}

TEST_F(BackupTest, RestoreWithMissingBlobFailsAndLeavesNothing) {
    auto rep = store_->backup(dest());
    ASSERT_TRUE(rep);
    std::string victim;
    for (const auto& e : fs::recursive_directory_iterator(dest() + "/blobs"))
        if (e.is_regular_file()) victim = e.path().filename().string();
    ASSERT_FALSE(victim.empty());
    fs::remove(dest() + "/blobs/" + victim.substr(0, 2) + "/" + victim);
    auto settings = testing::settings_for(out_.path() + "/restored");
    auto r = Store::restore(dest(), settings);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kNotFound);
    EXPECT_NE(r.error().detail.find(victim), std::string::npos) << r.error().detail;
    EXPECT_FALSE(fs::exists(settings.dir));
    for (const auto& e : fs::directory_iterator(out_.path()))
        EXPECT_EQ(e.path().filename().string(), "backup");  // no temp folder left
}

TEST_F(BackupTest, RestorePutsKeyIntoConfiguredFileAndNeverOverwritesAnother) {
    ASSERT_TRUE(store_->backup(dest()));
    auto settings = testing::settings_for(out_.path() + "/restored");
    settings.master_key_file = out_.path() + "/keys/master.key";
    fs::create_directories(out_.path() + "/keys");
    { std::ofstream(settings.master_key_file) << "another store's key"; }
    auto r = Store::restore(dest(), settings);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_EQ(testing::file_bytes(settings.master_key_file), "another store's key");
    EXPECT_FALSE(fs::exists(settings.dir));

    fs::remove(settings.master_key_file);
    ASSERT_TRUE(Store::restore(dest(), settings));
    EXPECT_EQ(mode_of(settings.master_key_file), 0600);
    EXPECT_FALSE(fs::exists(settings.dir + "/master.key"));
    auto restored = Store::open(settings);
    ASSERT_TRUE(restored) << restored.error().detail;
    EXPECT_EQ(everything(**restored), everything(*store_));
}

TEST(SqliteBackup, CopiesALiveDatabase) {
    testing::TempDir dir;
    std::string src = dir.path() + "/a.db", dst = dir.path() + "/b.db";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(src.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA journal_mode=WAL; CREATE TABLE t(x); "
                           "INSERT INTO t VALUES(1), (2), (3);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    // The source stays open with its rows in the WAL: the copy must still see them.
    ASSERT_TRUE(sqlite_backup(src, dst));
    sqlite3_close(db);
    EXPECT_EQ(mode_of(dst), 0600);
    ASSERT_EQ(sqlite3_open(dst.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT sum(x) FROM t", -1, &s, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(s, 0), 6);
    sqlite3_finalize(s);
    sqlite3_close(db);

    EXPECT_EQ(sqlite_backup(src, dst).error().code, Errc::kConflict);
    EXPECT_EQ(sqlite_backup(dir.path() + "/none.db", dir.path() + "/c.db").error().code,
              Errc::kNotFound);
    EXPECT_FALSE(fs::exists(dir.path() + "/c.db"));
}

}  // namespace
}  // namespace moat::store

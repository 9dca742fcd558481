#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "store/local_store.h"
#include "test_util.h"

namespace moat::store {
namespace {

using testing::put_ok;
using testing::read_all;

class EncryptionTest : public ::testing::Test {
protected:
    void SetUp() override { reopen(); }
    void reopen() {
        store_.reset();
        auto s = LocalStore::open_local(settings());
        ASSERT_TRUE(s) << s.error().detail;
        store_ = std::move(*s);
        (void)store_->create_bucket("enc");
    }
    StoreSettings settings() {
        auto s = testing::settings_for(dir_.path());
        s.inline_max = 1000;
        return s;
    }
    std::string only_blob_file() {
        for (auto& e : std::filesystem::recursive_directory_iterator(dir_.path() + "/blobs"))
            if (e.is_regular_file()) return e.path().string();
        return {};
    }
    testing::TempDir dir_;
    std::unique_ptr<LocalStore> store_;
};

TEST_F(EncryptionTest, NoPlaintextOnDisk) {
    std::string secret_text;
    for (int i = 0; i < 5000; ++i) secret_text += "TOP-SECRET-PLAINTEXT-" + std::to_string(i) + ";";
    put_ok(*store_, "enc", "big", secret_text);
    put_ok(*store_, "enc", "small", "SMALL-INLINE-SECRET");
    std::string file = only_blob_file();
    ASSERT_FALSE(file.empty());
    std::string raw = testing::file_bytes(file);
    EXPECT_EQ(raw.find("TOP-SECRET"), std::string::npos);
    EXPECT_GT(raw.size(), secret_text.size());
    store_.reset();  // checkpoint-free: search the DB and its WAL as they are
    for (const char* f : {"/meta.db", "/meta.db-wal"}) {
        std::string db = testing::file_bytes(dir_.path() + f);
        EXPECT_EQ(db.find("SMALL-INLINE-SECRET"), std::string::npos) << f;
        EXPECT_EQ(db.find("TOP-SECRET"), std::string::npos) << f;
    }
}

TEST_F(EncryptionTest, FlippedByteIsDetectedByReadAndScrub) {
    std::string data = testing::random_data(200000);
    put_ok(*store_, "enc", "k", data);
    auto clean = store_->scrub();
    ASSERT_TRUE(clean);
    EXPECT_EQ(clean->blobs, 1u);
    EXPECT_EQ(clean->bytes, data.size());
    EXPECT_TRUE(clean->damaged.empty());
    std::string file = only_blob_file();
    {
        std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(100000);
        char c = 0;
        f.read(&c, 1);
        f.seekp(100000);
        c ^= 0x01;
        f.write(&c, 1);
    }
    auto r = read_all(*store_, "enc", "k");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("authentication"), std::string::npos) << r.error().detail;
    // A range in an untouched chunk still reads.
    auto rd = store_->open_object("enc", "k");
    ASSERT_TRUE(rd);
    std::string buf(1000, '\0');
    auto n = (*rd)->read_at(0, buf.data(), buf.size());
    ASSERT_TRUE(n);
    EXPECT_EQ(buf, data.substr(0, 1000));
    auto rep = store_->scrub();
    ASSERT_TRUE(rep);
    ASSERT_EQ(rep->damaged.size(), 1u);
    EXPECT_NE(rep->damaged[0].find("chunk 1"), std::string::npos) << rep->damaged[0];
}

TEST_F(EncryptionTest, TruncatedOrMissingBlobIsReported) {
    put_ok(*store_, "enc", "k", testing::random_data(150000));
    std::string file = only_blob_file();
    std::filesystem::resize_file(file, std::filesystem::file_size(file) - 16);
    EXPECT_FALSE(read_all(*store_, "enc", "k"));
    EXPECT_EQ(store_->scrub()->damaged.size(), 1u);
    std::filesystem::remove(file);
    auto rep = store_->scrub();
    EXPECT_EQ(rep->missing.size(), 1u);
}

TEST_F(EncryptionTest, RangeReadsAtChunkBoundaries) {
    const std::size_t c = 64 * 1024;
    std::string data = testing::random_data(3 * c + 5);
    put_ok(*store_, "enc", "k", data);
    auto rd = store_->open_object("enc", "k");
    ASSERT_TRUE(rd);
    struct Case {
        std::uint64_t off;
        std::size_t n;
    };
    for (Case t : {Case{0, 1}, Case{c - 1, 2}, Case{c, c}, Case{c - 3, c + 6}, Case{3 * c, 5},
                   Case{3 * c + 4, 10}, Case{2 * c + 7, 1}, Case{0, 4 * c}}) {
        std::string buf(t.n, '\0');
        auto n = (*rd)->read_at(t.off, buf.data(), buf.size());
        ASSERT_TRUE(n) << t.off;
        std::size_t want = std::min<std::size_t>(t.n, data.size() - t.off);
        ASSERT_EQ(*n, want) << t.off;
        EXPECT_EQ(buf.substr(0, want), data.substr(t.off, want)) << t.off;
    }
    char x;
    EXPECT_EQ(*(*rd)->read_at(data.size(), &x, 1), 0u);
    EXPECT_EQ(*(*rd)->read_at(data.size() + 100, &x, 1), 0u);
}

TEST_F(EncryptionTest, RotateKeyResealsAndEverythingStillReads) {
    std::string big = testing::random_data(300000, 7), small = "tiny";
    put_ok(*store_, "enc", "big", big);
    put_ok(*store_, "enc", "small", small);
    auto key = store_->create_key("deploy", {Grant{"enc", "", true, true, true}});
    ASSERT_TRUE(key);
    std::string before = testing::file_bytes(dir_.path() + "/master.key");
    std::string blob_before = testing::file_bytes(only_blob_file());
    auto n = store_->rotate_master_key();
    ASSERT_TRUE(n) << n.error().detail;
    EXPECT_EQ(*n, 2u);
    std::string after = testing::file_bytes(dir_.path() + "/master.key");
    EXPECT_NE(before, after);
    EXPECT_EQ(std::count(after.begin(), after.end(), '\n'), 2);     // magic + one key
    EXPECT_EQ(testing::file_bytes(only_blob_file()), blob_before);  // data not rewritten
    reopen();
    EXPECT_EQ(*read_all(*store_, "enc", "big"), big);
    EXPECT_EQ(*read_all(*store_, "enc", "small"), small);
    auto found = store_->find_key(key->access_key_id);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->secret, key->secret);
    EXPECT_TRUE(store_->scrub()->damaged.empty());
    // With the old key file the data is unreadable: the master key really is needed.
    store_.reset();
    {
        std::ofstream f(dir_.path() + "/master.key", std::ios::trunc);
        f << before;
    }
    reopen();
    EXPECT_FALSE(read_all(*store_, "enc", "big"));
}

TEST_F(EncryptionTest, ConfiguredMasterKeyFile) {
    testing::TempDir other;
    auto s = settings();
    s.dir = other.path() + "/store";
    s.master_key_file = other.path() + "/mk";
    auto st = Store::open(s);
    ASSERT_TRUE(st) << st.error().detail;
    EXPECT_TRUE(std::filesystem::exists(other.path() + "/mk"));
    EXPECT_FALSE(std::filesystem::exists(s.dir + "/master.key"));
    st->reset();
    {
        std::ofstream f(other.path() + "/mk", std::ios::trunc);
        f << "garbage\n";
    }
    auto bad = Store::open(s);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace moat::store

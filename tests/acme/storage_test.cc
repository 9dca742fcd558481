// Sealer (AES-256-GCM under seal.key), LeaseLock and the status file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "acme/cert_status.h"
#include "acme/internal/crypto.h"
#include "acme/lease_lock.h"
#include "acme/sealer.h"
#include "support/processes.h"

namespace moat::acme {
namespace {

class TempDir : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/moat-acme-test.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

using SealerTest = TempDir;
using LeaseLockTest = TempDir;

TEST_F(SealerTest, RoundTripsAndBindsTheLabel) {
    auto s = FileKeySealer::open_or_create(dir_ + "/seal.key");
    ASSERT_TRUE(s) << s.error().detail;
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + "/seal.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto blob = (*s)->seal("account key pem", "label-a");
    ASSERT_TRUE(blob);
    EXPECT_EQ(blob->find("account key pem"), std::string::npos);
    auto open = (*s)->open(*blob, "label-a");
    ASSERT_TRUE(open);
    EXPECT_EQ(*open, "account key pem");
    EXPECT_FALSE((*s)->open(*blob, "label-b"));
    std::string altered = *blob;
    altered[altered.size() / 2] ^= 1;
    EXPECT_FALSE((*s)->open(altered, "label-a"));
    EXPECT_FALSE((*s)->open("short", "label-a"));
    // The same key file opens it again (restart).
    auto s2 = FileKeySealer::open_or_create(dir_ + "/seal.key");
    ASSERT_TRUE(s2);
    EXPECT_TRUE((*s2)->open(*blob, "label-a"));
}

TEST_F(SealerTest, RefusesLooseOrWrongKeyFiles) {
    ASSERT_TRUE(internal::write_file_atomic(dir_ + "/loose.key", std::string(32, 'k'), 0644));
    auto loose = FileKeySealer::open_or_create(dir_ + "/loose.key");
    ASSERT_FALSE(loose);
    EXPECT_EQ(loose.error().code, Errc::kDenied);
    ASSERT_TRUE(internal::write_file_atomic(dir_ + "/short.key", "abc", 0600));
    EXPECT_FALSE(FileKeySealer::open_or_create(dir_ + "/short.key"));
}

// Two moat processes starting together on one new folder each create seal.key before any lock
// is held. Every one must end up with the key that stays on disk: a key replaced after another
// process sealed the account key with it would leave that key unreadable after a restart. Real
// processes, released together by closing one pipe; each seals a blob, the parent opens all.
TEST_F(SealerTest, ProcessesCreatingTheKeyTogetherAllUseTheOneOnDisk) {
    constexpr int kRounds = 20, kProcs = 4;
    int unreadable = 0, failed = 0;
    for (int round = 0; round < kRounds; ++round) {
        const std::string key = dir_ + "/seal" + std::to_string(round) + ".key";
        failed += test_support::run_together(kProcs, [&](int i) {
            auto s = FileKeySealer::open_or_create(key);
            if (!s) return 2;
            auto blob = (*s)->seal("secret " + std::to_string(i), "label");
            if (!blob) return 3;
            return internal::write_file_atomic(key + "." + std::to_string(i), *blob, 0600) ? 0 : 4;
        });
        auto s = FileKeySealer::open_or_create(key);
        ASSERT_TRUE(s) << s.error().detail;
        for (int i = 0; i < kProcs; ++i) {
            auto blob = internal::read_file(key + "." + std::to_string(i));
            auto open = blob ? (*s)->open(*blob, "label") : Result<std::string>(blob.error());
            if (!open || *open != "secret " + std::to_string(i)) ++unreadable;
        }
        // No temp file is left beside the key.
        for (const auto& e : std::filesystem::directory_iterator(dir_))
            EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
    }
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(unreadable, 0) << "of " << kRounds * kProcs << " sealed blobs";
}

TEST_F(LeaseLockTest, OneHolderUntilExpiryOrRelease) {
    auto t0 = std::chrono::system_clock::from_time_t(1'700'000'000);
    std::string path = dir_ + "/order.lock";
    auto a = LeaseLock::acquire(path, "node-a", std::chrono::seconds(600), t0);
    ASSERT_TRUE(a) << a.error().detail;
    auto b = LeaseLock::acquire(path, "node-b", std::chrono::seconds(600),
                                t0 + std::chrono::seconds(10));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, Errc::kConflict);
    EXPECT_NE(b.error().detail.find("node-a"), std::string::npos);
    // Refresh extends the lease; after it runs out another node may take it.
    ASSERT_TRUE(a->refresh(t0 + std::chrono::seconds(300)));
    EXPECT_FALSE(LeaseLock::acquire(path, "node-b", std::chrono::seconds(600),
                                    t0 + std::chrono::seconds(800)));
    auto c = LeaseLock::acquire(path, "node-b", std::chrono::seconds(600),
                                t0 + std::chrono::seconds(901));
    ASSERT_TRUE(c);
    EXPECT_FALSE(a->refresh(t0 + std::chrono::seconds(902)));  // lost
    c->release();
    EXPECT_TRUE(LeaseLock::acquire(path, "node-a", std::chrono::seconds(600),
                                   t0 + std::chrono::seconds(903)));
}

TEST_F(LeaseLockTest, DestructorReleases) {
    auto t0 = std::chrono::system_clock::from_time_t(1'700'000'000);
    std::string path = dir_ + "/order.lock";
    {
        auto a = LeaseLock::acquire(path, "node-a", std::chrono::seconds(600), t0);
        ASSERT_TRUE(a);
    }
    EXPECT_TRUE(LeaseLock::acquire(path, "node-b", std::chrono::seconds(600), t0));
}

TEST(CertStatusFile, RoundTripsAndRejectsGarbage) {
    CertStatus s;
    s.name = "a.test";
    s.names = {"a.test", "test.a.test"};
    s.has_cert = true;
    s.issuer = "Pebble Intermediate CA";
    s.not_after = std::chrono::system_clock::from_time_t(1'800'000'000);
    s.failures = 2;
    s.last_error = "rateLimited";
    auto back = status_from_json(status_to_json(s));
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->names, s.names);
    EXPECT_EQ(back->not_after, s.not_after);
    EXPECT_EQ(back->failures, 2);
    EXPECT_EQ(back->state(std::chrono::system_clock::from_time_t(1'700'000'000)), "failing");
    EXPECT_FALSE(status_from_json("{"));
    EXPECT_FALSE(status_from_json(R"({"name": 5})"));
}

}  // namespace
}  // namespace moat::acme

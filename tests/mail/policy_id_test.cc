#include "mail/policy_id.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "mail/grammar.h"

namespace moat::mail {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using std::chrono::system_clock;

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("moat-mail-" + std::to_string(::getpid()) + "-" +
                std::to_string(system_clock::now().time_since_epoch().count()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

const system_clock::time_point kT0 = system_clock::from_time_t(1764372600);  // 2025-11-28 23:30

TEST(PolicyId, IsAssignedPersistedAndStableWhileThePolicyIsUnchanged) {
    TempDir dir;
    auto a = current_policy_id(dir.path.string(), "example.com", "version: STSv1\n", kT0);
    ASSERT_TRUE(a) << a.error().detail;
    EXPECT_TRUE(a->bumped);
    EXPECT_TRUE(grammar::valid_sts_id(a->id)) << a->id;
    EXPECT_EQ(a->id.substr(0, 14), "20251128233000");
    // Later, same text: same id, nothing bumped.
    auto b =
        current_policy_id(dir.path.string(), "example.com", "version: STSv1\n", kT0 + seconds(90));
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->bumped);
    EXPECT_EQ(b->id, a->id);
    auto s = stored_policy_id(dir.path.string(), "example.com");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->id, a->id);
}

TEST(PolicyId, IsBumpedWhenAndOnlyWhenThePolicyChanges) {
    TempDir dir;
    auto a = current_policy_id(dir.path.string(), "example.com", "mode: testing\n", kT0);
    auto b =
        current_policy_id(dir.path.string(), "example.com", "mode: enforce\n", kT0 + seconds(5));
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(b->bumped);
    EXPECT_NE(a->id, b->id);
    EXPECT_EQ(b->previous_id, a->id);
    // Even within the same second a different text gets a different id.
    auto c = current_policy_id(dir.path.string(), "example.com", "mode: none\n", kT0 + seconds(5));
    ASSERT_TRUE(c);
    EXPECT_NE(c->id, b->id);
    // Domains are independent.
    auto other = current_policy_id(dir.path.string(), "example.net", "mode: none\n", kT0);
    ASSERT_TRUE(other);
    EXPECT_TRUE(other->bumped);
}

TEST(PolicyId, RefusesPathLikeDomains) {
    TempDir dir;
    EXPECT_FALSE(current_policy_id(dir.path.string(), "../etc", "x", kT0));
    EXPECT_FALSE(current_policy_id(dir.path.string(), "a/b.example", "x", kT0));
}

TEST(PolicyId, ReplacesACorruptStateFile) {
    TempDir dir;
    {
        std::FILE* f = std::fopen((dir.path / "example.com.sts").c_str(), "w");
        std::fputs("garbage", f);
        std::fclose(f);
    }
    auto a = current_policy_id(dir.path.string(), "example.com", "x", kT0);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->bumped);
}

}  // namespace
}  // namespace moat::mail

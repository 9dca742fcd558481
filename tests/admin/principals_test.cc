#include "admin/principals.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "admin/fixtures.h"
#include "admin/totp.h"

namespace moat::admin {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;
using testing::TempDir;

class PrincipalsTest : public ::testing::Test {
protected:
    void SetUp() override {
        settings_ = testing::settings_in(dir_);
        auto p = Principals::open(settings_);
        ASSERT_TRUE(p) << p.error().detail;
        p_ = std::move(*p);
    }
    TempDir dir_;
    AdminSettings settings_;
    std::unique_ptr<Principals> p_;
};

TEST_F(PrincipalsTest, CreateHandsOutTokenAndSecretThatAuthenticate) {
    auto en = p_->create("alice@example.com", Role::kDeployer);
    ASSERT_TRUE(en) << en.error().detail;
    EXPECT_EQ(en->token.rfind("moat_", 0), 0u);
    EXPECT_EQ(en->token.size(), 5u + 43u);
    EXPECT_EQ(en->token.find_first_not_of(
                  "moat_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-", 5),
              std::string::npos);
    EXPECT_EQ(en->totp_secret.size(), 32u);
    EXPECT_NE(en->otpauth_uri.find("secret=" + en->totp_secret), std::string::npos);

    auto who = p_->authenticate(en->token);
    ASSERT_TRUE(who) << who.error().detail;
    EXPECT_EQ(who->name, "alice@example.com");
    EXPECT_EQ(who->role, Role::kDeployer);

    std::string wrong = en->token;
    wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
    auto bad = p_->authenticate(wrong);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::kDenied);
    EXPECT_FALSE(p_->authenticate(""));
    EXPECT_FALSE(p_->authenticate("Bearer " + en->token));
}

TEST_F(PrincipalsTest, NeitherTokenNorSecretIsStoredInPlainText) {
    auto en = p_->create("bob", Role::kViewer);
    ASSERT_TRUE(en);
    std::ifstream in(settings_.db_path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::ifstream wal(settings_.db_path + "-wal", std::ios::binary);
    ss << wal.rdbuf();
    std::string bytes = ss.str();
    ASSERT_FALSE(bytes.empty());
    EXPECT_EQ(bytes.find(en->token), std::string::npos);
    EXPECT_EQ(bytes.find(en->token.substr(5)), std::string::npos);
    EXPECT_EQ(bytes.find(en->totp_secret), std::string::npos);
    EXPECT_NE(bytes.find("bob"), std::string::npos);  // the file is the one written
}

TEST_F(PrincipalsTest, NamesAreCheckedAndUnique) {
    ASSERT_TRUE(p_->create("carol", Role::kAdmin));
    auto dup = p_->create("carol", Role::kViewer);
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, Errc::kConflict);
    const std::vector<std::string> bad_names{"", "a b", "x/y", "ü", std::string(65, 'a')};
    for (const auto& bad : bad_names) {
        auto r = p_->create(bad, Role::kViewer);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    }
    EXPECT_TRUE(p_->create(std::string(64, 'a'), Role::kViewer));
}

TEST_F(PrincipalsTest, ResetReplacesTokenAndRemoveForgets) {
    auto en = p_->create("dave", Role::kApprover);
    ASSERT_TRUE(en);
    auto again = p_->reset("dave");
    ASSERT_TRUE(again);
    EXPECT_NE(again->token, en->token);
    EXPECT_NE(again->totp_secret, en->totp_secret);
    EXPECT_EQ(again->principal.role, Role::kApprover);
    EXPECT_FALSE(p_->authenticate(en->token));
    EXPECT_TRUE(p_->authenticate(again->token));

    ASSERT_TRUE(p_->create("erin", Role::kViewer));
    auto l = p_->list();
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 2u);
    EXPECT_EQ((*l)[0].name, "dave");
    EXPECT_EQ((*l)[1].name, "erin");

    ASSERT_TRUE(p_->remove("dave"));
    EXPECT_FALSE(p_->authenticate(again->token));
    auto gone = p_->remove("dave");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, Errc::kNotFound);
    EXPECT_EQ(p_->reset("nobody").error().code, Errc::kNotFound);
}

TEST_F(PrincipalsTest, TotpAcceptsEachStepOnceAndNeverAnOlderOne) {
    auto en = p_->create("frank", Role::kAdmin);
    ASSERT_TRUE(en);
    auto now = system_clock::time_point(seconds(1'800'000'000));
    std::int64_t step = totp_step(now);
    std::string prev = *totp_code(en->totp_secret, step - 1);
    std::string cur = *totp_code(en->totp_secret, step);
    std::string next = *totp_code(en->totp_secret, step + 1);

    EXPECT_FALSE(p_->verify_totp("frank", "000000" == cur ? "111111" : "000000", now));
    ASSERT_TRUE(p_->verify_totp("frank", cur, now));
    // RFC 6238 §5.2: the same code again is a replay; so is the older step's code.
    auto replay = p_->verify_totp("frank", cur, now);
    ASSERT_FALSE(replay);
    EXPECT_EQ(replay.error().code, Errc::kDenied);
    EXPECT_FALSE(p_->verify_totp("frank", prev, now));
    // A newer step is still fine, once.
    EXPECT_TRUE(p_->verify_totp("frank", next, now));
    EXPECT_FALSE(p_->verify_totp("frank", next, now + seconds(30)));
    EXPECT_FALSE(p_->verify_totp("nobody", cur, now));
}

TEST_F(PrincipalsTest, ReplayGuardSurvivesReopening) {
    auto en = p_->create("gina", Role::kApprover);
    ASSERT_TRUE(en);
    auto now = system_clock::time_point(seconds(1'800'000'000));
    std::string cur = *totp_code(en->totp_secret, totp_step(now));
    ASSERT_TRUE(p_->verify_totp("gina", cur, now));
    p_.reset();
    auto p = Principals::open(settings_);
    ASSERT_TRUE(p);
    EXPECT_FALSE((*p)->verify_totp("gina", cur, now));
}

TEST(AdminKey, CreatedPrivateAndRefusedWhenOthersMayRead) {
    TempDir dir;
    auto s = testing::settings_in(dir);
    ASSERT_TRUE(Principals::open(s));
    struct stat st {};
    ASSERT_EQ(::stat(s.key_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_size, 32);
    ASSERT_EQ(::chmod(s.key_file.c_str(), 0644), 0);
    auto r = Principals::open(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kDenied);
}

TEST(AdminKey, AnotherKeyCannotUnsealTheSecrets) {
    TempDir dir;
    auto s = testing::settings_in(dir);
    auto p = Principals::open(s);
    ASSERT_TRUE(p);
    auto en = (*p)->create("hank", Role::kAdmin);
    ASSERT_TRUE(en);
    p->reset();
    ASSERT_EQ(::unlink(s.key_file.c_str()), 0);  // a new key is made on open
    auto q = Principals::open(s);
    ASSERT_TRUE(q);
    auto now = system_clock::time_point(seconds(1'800'000'000));
    auto r = (*q)->verify_totp("hank", *totp_code(en->totp_secret, totp_step(now)), now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kInternal);
}

TEST(Roles, NamesRoundTrip) {
    for (Role r : {Role::kViewer, Role::kDeployer, Role::kApprover, Role::kAdmin}) {
        auto p = parse_role(role_name(r));
        ASSERT_TRUE(p);
        EXPECT_EQ(*p, r);
    }
    EXPECT_FALSE(parse_role("root"));
    EXPECT_FALSE(parse_role("Admin"));
}

}  // namespace
}  // namespace moat::admin

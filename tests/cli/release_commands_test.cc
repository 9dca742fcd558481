// The release commands as a user runs them (cli::run with argv) against the fake admin API:
// exit codes, TOTP from --otp or the profile's secret (and the replay retry), what is printed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>

#include "admin/totp.h"
#include "cli/cli.h"
#include "cli/fake_admin_api.h"

namespace moat::cli {
namespace {

using Canned = testing::FakeAdminApi::Canned;
const char* kSecret = "JBSWY3DPEHPK3PXP";

class CommandsTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::unsetenv("MOAT_CREDENTIALS");
        ::unsetenv("MOAT_TOKEN");
        creds_ = srv_.dir() + "/creds";
        std::ofstream(creds_) << "[approver]\nurl = " << srv_.url() << "\nca = " << srv_.ca()
                              << "\ntoken = moat_test\ntotp_secret = " << kSecret
                              << "\n[plain]\nurl = " << srv_.url() << "\nca = " << srv_.ca()
                              << "\ntoken = moat_test\n";
    }
    // Runs `moat args... --credentials creds`; returns the exit code, stdout in out_.
    int moat(std::vector<std::string> args) {
        args.insert(args.begin(), "moat");
        args.push_back("--credentials");
        args.push_back(creds_);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        ::testing::internal::CaptureStdout();
        int rc = run(static_cast<int>(argv.size()), argv.data());
        std::fflush(stdout);
        out_ = ::testing::internal::GetCapturedStdout();
        return rc;
    }
    std::vector<testing::FakeAdminApi::Seen> seen() {
        std::lock_guard lock(srv_.api->mu);
        return srv_.api->seen;
    }
    testing::FakeAdminServer srv_;
    std::string creds_, out_;
};

const char* kPending =
    R"({"promoted":false,"release":{"id":"r7"},"approvals":0,"required":1,"requested_by":"dev"})";
const char* kDone = R"({"promoted":true,"release":{"id":"r7"},"approvals":1,"required":1})";

TEST_F(CommandsTest, PromotePendingExitsThree) {
    srv_.api->canned["POST /v1/sites/example.com/promote"] = {202, kPending, {}};
    EXPECT_EQ(moat({"promote", "example.com", "--profile", "plain"}), 3);
    EXPECT_EQ(out_,
              "promotion of r7 to production is waiting for 1 approval(s): moat approve "
              "example.com r7\n");
    auto s = seen();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].body, R"({"from":"testing","release":""})");
    EXPECT_EQ(s[0].otp, "");
    srv_.api->canned["POST /v1/sites/example.com/promote"] = {200, kDone, {}};
    EXPECT_EQ(moat({"promote", "example.com", "--profile", "plain", "--json"}), 0);
    EXPECT_EQ(out_, std::string(kDone) + "\n");
}

TEST_F(CommandsTest, ApproveSendsTheGivenCode) {
    srv_.api->canned["POST /v1/sites/example.com/approve"] = {200, kDone, {}};
    EXPECT_EQ(moat({"approve", "example.com", "r7", "--otp", "654321"}), 0);
    EXPECT_EQ(out_, "approved r7; production now serves r7\n");
    EXPECT_EQ(seen().at(0).otp, "654321");
    EXPECT_EQ(moat({"approve", "example.com", "r7", "--otp", "12ab"}), 2);
    EXPECT_EQ(seen().size(), 1u);  // a malformed code is not sent
}

TEST_F(CommandsTest, ForceIsSentWithACodeUpFront) {
    srv_.api->canned["POST /v1/sites/example.com/promote"] = {200, kDone, {}};
    EXPECT_EQ(moat({"promote", "example.com", "--force", "--otp", "654321"}), 0);
    auto s = seen();
    ASSERT_EQ(s.size(), 1u);  // not first without a code (that would be a refusal on record)
    EXPECT_EQ(s[0].body, R"({"force":true,"from":"testing","release":""})");
    EXPECT_EQ(s[0].otp, "654321");
    srv_.api->canned["POST /v1/sites/example.com/approve"] = {200, kDone, {}};
    EXPECT_EQ(moat({"approve", "example.com", "r7", "--force", "--otp", "123456"}), 0);
    EXPECT_EQ(seen().at(1).body, R"({"force":true,"release":"r7"})");
    EXPECT_EQ(moat({"approve", "example.com", "r7", "--otp", "123457"}), 0);
    EXPECT_EQ(seen().at(2).body, R"({"release":"r7"})");
}

TEST_F(CommandsTest, ApproveComputesTheCodeFromTheProfileSecret) {
    srv_.api->canned["POST /v1/sites/example.com/approve"] = {202, kPending, {}};
    auto before = admin::totp_step(std::chrono::system_clock::now());
    EXPECT_EQ(moat({"approve", "example.com", "r7", "--profile", "approver"}), 3);
    auto after = admin::totp_step(std::chrono::system_clock::now());
    std::string otp = seen().at(0).otp;
    EXPECT_TRUE(otp == *admin::totp_code(kSecret, before) ||
                otp == *admin::totp_code(kSecret, after))
        << otp;
}

TEST_F(CommandsTest, ReplayedComputedCodeIsFollowedByTheNextStep) {
    // The server refuses the first code (as if a command a moment ago used it).
    srv_.api->hook =
        [n = 0](const testing::FakeAdminApi::Seen& s) mutable -> std::optional<Canned> {
        if (s.path != "/v1/sites/example.com/reject") return std::nullopt;
        if (n++ == 0)
            return Canned{401, R"({"error":{"code":"OtpInvalid","message":"replayed"}})", {}};
        return Canned{200, R"({"rejected":"r7"})", {}};
    };
    EXPECT_EQ(moat({"reject", "example.com", "r7", "--reason", "broken"}), 0);
    auto s = seen();
    ASSERT_EQ(s.size(), 2u);
    EXPECT_NE(s[0].otp, s[1].otp);
    EXPECT_EQ(s[1].body, R"({"reason":"broken","release":"r7"})");
    EXPECT_EQ(out_, "rejected the promotion of r7\n");
}

TEST_F(CommandsTest, OtpRequiredAnswerIsRetriedWithACode) {
    srv_.api->hook = [](const testing::FakeAdminApi::Seen& s) -> std::optional<Canned> {
        if (s.otp.empty())
            return Canned{401, R"({"error":{"code":"OtpRequired","message":"code"}})", {}};
        return Canned{200, R"({"id":"r3"})", {}};
    };
    EXPECT_EQ(moat({"rollback", "example.com", "--env", "staging", "--to", "r3"}), 0);
    EXPECT_EQ(out_, "staging now serves r3\n");
    EXPECT_EQ(seen().size(), 2u);
}

TEST_F(CommandsTest, NoCodeAnywhereIsBadInput) {
    // No --otp, no secret in the profile, no terminal (tests run without one): refused, unsent.
    if (std::FILE* tty = std::fopen("/dev/tty", "r")) {
        std::fclose(tty);
        GTEST_SKIP() << "a terminal is attached: the command would prompt";
    }
    EXPECT_EQ(moat({"rollback", "example.com", "--profile", "plain"}), 2);
    EXPECT_TRUE(seen().empty());
}

TEST_F(CommandsTest, UnknownSiteAndReleaseAreBadInput) {
    srv_.api->canned["GET /v1/sites/example.com/diff?from=r1&to=r%2099"] = {
        404, R"({"error":{"code":"NoSuchRelease","message":"no release r 99"}})", {}};
    EXPECT_EQ(moat({"diff", "example.com", "r1", "r 99"}), 2);
    EXPECT_EQ(moat({"releases", "nope.example"}), 2);  // the fake's NoSuchSite
}

TEST_F(CommandsTest, AuditVerifyFailsOnProblems) {
    srv_.api->canned["GET /v1/audit-log/verify"] = {
        200, R"({"ok":false,"records":3,"problems":["record 2: hash does not match"]})", {}};
    EXPECT_EQ(moat({"audit-log", "verify"}), 1);
    EXPECT_EQ(out_, "problem: record 2: hash does not match\naudit log DAMAGED: 3 records\n");
    srv_.api->canned["GET /v1/audit-log/verify"] = {200, R"({"ok":true,"records":3})", {}};
    EXPECT_EQ(moat({"audit-log", "verify"}), 0);
}

TEST_F(CommandsTest, InvalidateAndBackupBodies) {
    srv_.api->canned["POST /v1/sites/example.com/invalidate"] = {
        200,
        R"({"id":"I1","site":"example.com","env":"testing","paths":["/a/*"],)"
        R"("status":"Completed"})",
        {}};
    EXPECT_EQ(moat({"invalidate", "example.com", "/a/*"}), 0);
    EXPECT_EQ(seen().back().body, R"({"env":"testing","paths":["/a/*"]})");
    srv_.api->canned["POST /v1/backup"] = {
        200, R"({"dest":"/b","objects":1,"blobs":1,"bytes":5})", {}};
    EXPECT_EQ(moat({"backup", "relative/dir"}), 2);
    EXPECT_EQ(moat({"backup", "/b"}), 0);
    EXPECT_EQ(seen().back().body, R"({"dest":"/b"})");
    EXPECT_EQ(seen().back().otp.size(), 6u);
}

}  // namespace
}  // namespace moat::cli

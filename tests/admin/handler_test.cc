// The admin API handler in process: real Principals and AuditLog in a temp folder, a fake
// ReleaseService, in-memory requests and responses, an injected clock.
#include "admin/handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "admin/fake_releases.h"
#include "admin/fixtures.h"
#include "admin/totp.h"

namespace moat::admin {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using Clock = std::chrono::system_clock;

struct Reply {
    int status = 0;
    json body;
    testing::MemResponse res;
    std::string code() const {
        return body.contains("error") ? body["error"]["code"].get<std::string>() : "";
    }
};

struct Who {
    std::string token, secret;
};

class AdminHandlerTest : public ::testing::Test {
protected:
    void SetUp() override {
        settings_ = testing::settings_in(dir_);
        auto p = Principals::open(settings_);
        ASSERT_TRUE(p);
        principals_ = std::move(*p);
        auto a = AuditLog::open(settings_);
        ASSERT_TRUE(a);
        audit_ = std::move(*a);
        viewer_ = enrol("vera", Role::kViewer);
        deployer_ = enrol("bob", Role::kDeployer);
        approver_ = enrol("alice", Role::kApprover);
        admin_ = enrol("root", Role::kAdmin);
        make_handler();
    }

    void make_handler() {
        AdminDeps deps;
        deps.principals = principals_.get();
        deps.audit = audit_.get();
        deps.releases = &releases_;
        deps.backup = [this](const std::string& dest) -> Result<std::string> {
            backups_.push_back(dest);
            return std::string(R"({"objects":3,"blobs":2,"bytes":1234})");
        };
        deps.now = [this] { return now_; };
        handler_ = std::make_unique<AdminHandler>(settings_, deps);
    }

    Who enrol(const std::string& name, Role role) {
        auto en = principals_->create(name, role);
        EXPECT_TRUE(en);
        return Who{en->token, en->totp_secret};
    }

    // A fresh code for `who`: each call moves the clock one step on, so no code is a replay.
    std::string otp(const Who& who) {
        now_ += seconds(30);
        return *totp_code(who.secret, totp_step(now_));
    }

    Reply call(const std::string& method, const std::string& target, const Who* who,
               const std::string& body = "", edge::ServiceHeaders extra = {},
               const std::string& peer = "192.0.2.7") {
        edge::ServiceRequest req;
        req.method = method;
        req.target = target;
        auto q = target.find('?');
        req.path = target.substr(0, q);
        req.query = q == std::string::npos ? "" : target.substr(q + 1);
        req.host = "localhost";
        req.peer_ip = peer;
        req.secure = true;
        if (who) req.headers.emplace_back("authorization", "Bearer " + who->token);
        for (auto& h : extra) req.headers.push_back(h);
        testing::MemBody b(body);
        req.body = &b;
        Reply r;
        handler_->handle(req, r.res);
        EXPECT_TRUE(r.res.started_);
        EXPECT_EQ(r.res.announced_, r.res.body_.size());
        r.status = r.res.status_;
        r.body = json::parse(r.res.body_, nullptr, false);
        EXPECT_FALSE(r.body.is_discarded()) << r.res.body_;
        last_body_consumed_ = b.consumed();
        return r;
    }

    std::vector<AuditRecord> audit_records() {
        auto r = audit_->records(0, 1000);
        EXPECT_TRUE(r);
        return r ? *r : std::vector<AuditRecord>{};
    }

    testing::TempDir dir_;
    AdminSettings settings_;
    std::unique_ptr<Principals> principals_;
    std::unique_ptr<AuditLog> audit_;
    testing::FakeReleases releases_;
    std::unique_ptr<AdminHandler> handler_;
    Clock::time_point now_ = Clock::time_point(seconds(1'800'000'000));
    std::vector<std::string> backups_;
    std::size_t last_body_consumed_ = 0;
    Who viewer_, deployer_, approver_, admin_;
};

const std::string kSha = std::string(64, 'a');
const std::string kFiles =
    R"({"files":[{"path":"index.html","sha256":")" + kSha + R"(","size":12}]})";

TEST_F(AdminHandlerTest, NoTokenIs401WithBearerChallengeAndIsAudited) {
    auto r = call("GET", "/v1/whoami", nullptr);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "Unauthorized");
    EXPECT_EQ(r.res.header("WWW-Authenticate").rfind("Bearer", 0), 0u);
    auto recs = audit_records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].event.principal, "-");
    EXPECT_EQ(recs[0].event.action, "whoami");
    EXPECT_EQ(recs[0].event.outcome, "denied");
    EXPECT_EQ(recs[0].event.peer, "192.0.2.7");
}

TEST_F(AdminHandlerTest, WrongTokenIs401InvalidToken) {
    Who fake{"moat_" + std::string(43, 'A'), ""};
    auto r = call("GET", "/v1/whoami", &fake);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "Unauthorized");
    EXPECT_NE(r.res.header("WWW-Authenticate").find("invalid_token"), std::string::npos);
}

TEST_F(AdminHandlerTest, WhoamiAndViewerReadsAreNotAudited) {
    auto r = call("GET", "/v1/whoami", &deployer_);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, json({{"principal", "bob"}, {"role", "deployer"}}));
    EXPECT_EQ(r.res.header("Content-Type"), "application/json; charset=utf-8");
    EXPECT_EQ(call("GET", "/v1/sites", &viewer_).status, 200);
    EXPECT_TRUE(audit_records().empty());
}

TEST_F(AdminHandlerTest, SitesJsonShape) {
    releases_.sites[0].pending = release::PromoteOutcome{};
    releases_.sites[0].pending->release = releases_.info("r2");
    releases_.sites[0].pending->required = 1;
    releases_.sites[0].pending->requested_by = "bob";
    auto r = call("GET", "/v1/sites", &viewer_);
    ASSERT_EQ(r.status, 200);
    json release_r2 = {
        {"id", "r2"},         {"site", "docs"},      {"manifest_hash", std::string(64, 'c')},
        {"source", "deploy"}, {"created_by", "bob"}, {"created", "2026-11-29T11:00:00Z"},
        {"files", 2},         {"bytes", 300},        {"environments", {"testing"}}};
    json want = {{"sites",
                  {{{"site", "docs"},
                    {"approvals_required", 1},
                    {"environments",
                     {{{"name", "testing"},
                       {"url", "https://testing.docs.test/"},
                       {"release", "r2"},
                       {"from_store", true},
                       {"protected", false}},
                      {{"name", "production"},
                       {"url", "https://docs.test/"},
                       {"release", "r1"},
                       {"from_store", true},
                       {"protected", true}}}},
                    {"pending",
                     {{"promoted", false},
                      {"release", release_r2},
                      {"approvals", 0},
                      {"required", 1},
                      {"requested_by", "bob"},
                      {"approvers", json::array()}}}}}}};
    EXPECT_EQ(r.body, want) << r.body.dump(2);
    releases_.sites[0].pending.reset();
    r = call("GET", "/v1/sites/docs", &viewer_);
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.body["pending"].is_null());
}

TEST_F(AdminHandlerTest, PathSegmentsArePercentDecoded) {
    auto r = call("GET", "/v1/sites/do%63s", &viewer_);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body["site"], "docs");
    EXPECT_EQ(call("GET", "/v1/sites/d%zzocs", &viewer_).status, 404);
    auto nf = call("GET", "/v1/sites/nope", &viewer_);
    EXPECT_EQ(nf.status, 404);
    EXPECT_EQ(nf.code(), "NoSuchSite");
    auto none = call("GET", "/v1/nothing", &viewer_);
    EXPECT_EQ(none.status, 404);
    EXPECT_EQ(none.code(), "NotFound");
}

TEST_F(AdminHandlerTest, ViewerCannotDeploy) {
    auto r = call("POST", "/v1/sites/docs/envs/testing/deploy", &viewer_, kFiles);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.code(), "AccessDenied");
    EXPECT_TRUE(releases_.calls.empty());
    EXPECT_EQ(last_body_consumed_, 0u);  // refused before the body was read
    auto recs = audit_records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].event.principal, "vera");
    EXPECT_EQ(recs[0].event.action, "deploy");
    EXPECT_EQ(recs[0].event.outcome, "denied");
}

TEST_F(AdminHandlerTest, DeployAnswersReleaseWithUrlAndIsAudited) {
    auto r = call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, kFiles);
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(r.body["id"], "r3");
    EXPECT_EQ(r.body["url"], "https://testing.docs.test/");
    EXPECT_EQ(r.body["created"], "2026-11-29T11:00:00Z");
    ASSERT_EQ(releases_.deployed.size(), 1u);
    EXPECT_EQ(releases_.deployed[0].path, "index.html");
    EXPECT_EQ(releases_.deployed[0].size, 12u);
    ASSERT_EQ(releases_.calls.size(), 1u);
    EXPECT_EQ(releases_.calls[0], "deploy docs/testing by=bob");
    auto recs = audit_records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].event.action, "deploy");
    EXPECT_EQ(recs[0].event.target, "docs/testing");
    EXPECT_EQ(recs[0].event.outcome, "ok");
    EXPECT_EQ(json::parse(recs[0].event.detail)["release"], "r3");
}

TEST_F(AdminHandlerTest, MissingNamesContents) {
    auto r = call("POST", "/v1/sites/docs/envs/testing/missing", &deployer_, kFiles);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, json({{"missing", {kSha}}}));
}

TEST_F(AdminHandlerTest, BadJsonIs400AndOversizeIs413) {
    auto r = call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, "{\"files\": [");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.code(), "BadRequest");
    r = call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, R"({"files":[{"path":1}]})");
    EXPECT_EQ(r.status, 400);
    r = call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, "[1,2]");
    EXPECT_EQ(r.status, 400);
    settings_.max_json = 16;
    make_handler();
    r = call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, kFiles);
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.code(), "TooLarge");
    EXPECT_TRUE(releases_.calls.empty());
    auto recs = audit_records();
    ASSERT_FALSE(recs.empty());
    EXPECT_EQ(recs.back().event.outcome, "error: TooLarge");
}

TEST_F(AdminHandlerTest, ReleaseErrorsMapToTheTable) {
    struct Row {
        release::Reason reason;
        Errc code;
        int status;
        const char* name;
    } rows[] = {
        {release::Reason::kMissingContent, Errc::kConflict, 409, "MissingContent"},
        {release::Reason::kProtectedEnvironment, Errc::kDenied, 403, "ProtectedEnvironment"},
        {release::Reason::kBadPath, Errc::kInvalidArgument, 400, "BadPath"},
        {release::Reason::kPolicy, Errc::kDenied, 403, "PolicyFailed"},
        {release::Reason::kUnknownEnvironment, Errc::kNotFound, 404, "NoSuchEnvironment"},
        {release::Reason::kNone, Errc::kUnavailable, 503, "Unavailable"},
        {release::Reason::kNone, Errc::kIo, 500, "Internal"},
    };
    for (const auto& row : rows) {
        releases_.errors["deploy"] = release::release_error(row.code, row.reason, "detail");
        auto r = call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, kFiles);
        EXPECT_EQ(r.status, row.status) << row.name;
        EXPECT_EQ(r.code(), row.name);
    }
}

TEST_F(AdminHandlerTest, UploadStreamsTheBodyIntoTheService) {
    std::string bytes(100000, 'x');
    auto r = call("PUT", "/v1/sites/docs/envs/testing/files/docs/a%20b.html", &deployer_, bytes,
                  {{"x-moat-sha256", kSha}, {"content-type", "text/html"}});
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(
        r.body,
        json(
            {{"path", "docs/a b.html"}, {"version_id", "v1"}, {"sha256", kSha}, {"size", 100000}}));
    EXPECT_EQ(releases_.uploaded, bytes);
    EXPECT_EQ(releases_.last_file.path, "docs/a b.html");
    EXPECT_EQ(releases_.last_file.content_type, "text/html");
    EXPECT_EQ(releases_.last_file.size, 100000u);
    EXPECT_EQ(audit_records().back().event.action, "upload");
}

TEST_F(AdminHandlerTest, UploadNeedsItsHashAndStaysUnderTheLimit) {
    auto r = call("PUT", "/v1/sites/docs/envs/testing/files/a.html", &deployer_, "abc");
    EXPECT_EQ(r.status, 400);
    settings_.max_upload = 10;
    make_handler();
    r = call("PUT", "/v1/sites/docs/envs/testing/files/a.html", &deployer_, std::string(11, 'x'),
             {{"x-moat-sha256", kSha}});
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.code(), "TooLarge");
    EXPECT_TRUE(releases_.uploaded.empty());
    releases_.errors["upload"] =
        release::release_error(Errc::kInvalidArgument, release::Reason::kHashMismatch, "no");
    r = call("PUT", "/v1/sites/docs/envs/testing/files/a.html", &deployer_, "abc",
             {{"x-moat-sha256", kSha}});
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.code(), "HashMismatch");
}

TEST_F(AdminHandlerTest, PromoteIs202WhenPendingAnd200WhenDone) {
    auto r = call("POST", "/v1/sites/docs/promote", &deployer_, R"({"from":"testing"})");
    EXPECT_EQ(r.status, 202);
    EXPECT_EQ(r.body["promoted"], false);
    EXPECT_EQ(r.body["release"]["id"], "r2");
    EXPECT_EQ(r.body["requested_by"], "bob");
    releases_.promote_now = true;
    r = call("POST", "/v1/sites/docs/promote", &deployer_, R"({"from":"testing"})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body["promoted"], true);
    EXPECT_EQ(call("POST", "/v1/sites/docs/promote", &viewer_, "{}").status, 403);
}

TEST_F(AdminHandlerTest, ApproveNeedsAnApproverAndAFreshCode) {
    const std::string body = R"({"release":"r2"})";
    auto r = call("POST", "/v1/sites/docs/approve", &deployer_, body, {{"x-moat-otp", "123456"}});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.code(), "AccessDenied");

    r = call("POST", "/v1/sites/docs/approve", &approver_, body);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "OtpRequired");

    std::string good = otp(approver_);
    std::string bad = good == "000000" ? "000001" : "000000";
    r = call("POST", "/v1/sites/docs/approve", &approver_, body, {{"x-moat-otp", bad}});
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "OtpInvalid");
    EXPECT_TRUE(releases_.calls.empty());

    r = call("POST", "/v1/sites/docs/approve", &approver_, body, {{"x-moat-otp", good}});
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(r.body["approvers"], json({"alice"}));
    EXPECT_EQ(releases_.calls, std::vector<std::string>{"approve docs/r2 by=alice"});

    // The same code again, still within its step: a replay.
    r = call("POST", "/v1/sites/docs/approve", &approver_, body, {{"x-moat-otp", good}});
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "OtpInvalid");
    EXPECT_EQ(releases_.calls.size(), 1u);
}

TEST_F(AdminHandlerTest, SelfApprovalIs403) {
    releases_.errors["approve"] =
        release::release_error(Errc::kDenied, release::Reason::kSelfApproval, "own request");
    auto r = call("POST", "/v1/sites/docs/approve", &approver_, R"({"release":"r2"})",
                  {{"x-moat-otp", otp(approver_)}});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.code(), "SelfApproval");
    EXPECT_EQ(audit_records().back().event.outcome, "denied");
    releases_.errors["approve"] =
        release::release_error(Errc::kConflict, release::Reason::kNotPending, "none");
    r = call("POST", "/v1/sites/docs/approve", &approver_, R"({"release":"r2"})",
             {{"x-moat-otp", otp(approver_)}});
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(r.code(), "NotPending");
}

TEST_F(AdminHandlerTest, RejectAnswersTheRelease) {
    auto r = call("POST", "/v1/sites/docs/reject", &approver_,
                  R"({"release":"r2","reason":"typo"})", {{"x-moat-otp", otp(approver_)}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, json({{"rejected", "r2"}}));
}

TEST_F(AdminHandlerTest, RollbackOfTheProtectedEnvNeedsApproverAndCode) {
    auto r = call("POST", "/v1/sites/docs/rollback", &deployer_, R"({"env":"testing"})");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body["id"], "r1");
    const std::string prod = R"({"env":"production","to":"r1"})";
    r = call("POST", "/v1/sites/docs/rollback", &deployer_, prod, {{"x-moat-otp", "123456"}});
    EXPECT_EQ(r.status, 403);
    r = call("POST", "/v1/sites/docs/rollback", &approver_, prod);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "OtpRequired");
    EXPECT_EQ(releases_.calls.size(), 1u);
    r = call("POST", "/v1/sites/docs/rollback", &approver_, prod, {{"x-moat-otp", otp(approver_)}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(releases_.calls.back(), "rollback docs/production by=alice");
}

TEST_F(AdminHandlerTest, FiveBadTokensFromOnePeerLockItOut) {
    Who fake{"moat_" + std::string(43, 'B'), ""};
    for (int i = 0; i < 5; ++i) EXPECT_EQ(call("GET", "/v1/whoami", &fake).status, 401) << i;
    // Now even a good token from that address waits.
    auto r = call("GET", "/v1/whoami", &viewer_);
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.code(), "TooManyFailures");
    EXPECT_EQ(r.res.header("Retry-After"), "300");
    // Other addresses are not affected.
    EXPECT_EQ(call("GET", "/v1/whoami", &viewer_, "", {}, "198.51.100.1").status, 200);
    now_ += seconds(200);
    r = call("GET", "/v1/whoami", &viewer_);
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.res.header("Retry-After"), "100");
    now_ += seconds(101);
    EXPECT_EQ(call("GET", "/v1/whoami", &viewer_).status, 200);
}

TEST_F(AdminHandlerTest, FailuresOutsideTheWindowDoNotCount) {
    Who fake{"moat_" + std::string(43, 'C'), ""};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(call("GET", "/v1/whoami", &fake).status, 401);
    now_ += seconds(301);
    EXPECT_EQ(call("GET", "/v1/whoami", &fake).status, 401);
    EXPECT_EQ(call("GET", "/v1/whoami", &viewer_).status, 200);
}

TEST_F(AdminHandlerTest, FiveBadCodesLockThePrincipalOnEveryAddress) {
    const std::string body = R"({"release":"r2"})";
    for (int i = 0; i < 5; ++i) {
        // A different address each time: only the principal's count reaches 5.
        auto r = call("POST", "/v1/sites/docs/approve", &approver_, body,
                      {{"x-moat-otp", "999999"}}, "203.0.113." + std::to_string(i));
        EXPECT_EQ(r.status, 401) << i;
    }
    auto r = call("GET", "/v1/whoami", &approver_, "", {}, "203.0.113.99");
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.code(), "TooManyFailures");
    // Other principals from those addresses go on.
    EXPECT_EQ(call("GET", "/v1/whoami", &viewer_, "", {}, "203.0.113.1").status, 200);
}

TEST_F(AdminHandlerTest, InvalidateAnswersTheRecord) {
    auto r = call("POST", "/v1/sites/docs/invalidate", &deployer_,
                  R"({"env":"testing","paths":["/docs/*"]})");
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(r.body, json({{"id", "I1"},
                            {"site", "docs"},
                            {"env", "testing"},
                            {"paths", {"/docs/*"}},
                            {"status", "Completed"},
                            {"by", "bob"},
                            {"created", "2026-11-29T11:00:00Z"}}));
    r = call("POST", "/v1/sites/docs/invalidate", &deployer_, R"({"env":"testing","paths":"/"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.code(), "InvalidPaths");
    releases_.errors["invalidate"] = make_error(Errc::kInvalidArgument, "'*' only at the end");
    r = call("POST", "/v1/sites/docs/invalidate", &deployer_,
             R"({"env":"testing","paths":["/a*b"]})");
    EXPECT_EQ(r.code(), "InvalidPaths");
}

TEST_F(AdminHandlerTest, ReleasesReleaseAndDiff) {
    auto r = call("GET", "/v1/sites/docs/releases", &viewer_);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body["releases"].size(), 2u);
    EXPECT_EQ(r.body["history"][0], json({{"env", "testing"},
                                          {"release", "r2"},
                                          {"previous", "r1"},
                                          {"action", "deploy"},
                                          {"by", "bob"},
                                          {"at", "2026-11-29T11:00:00Z"}}));
    r = call("GET", "/v1/sites/docs/releases/r2", &viewer_);
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(r.body["id"], "r2");
    EXPECT_TRUE(r.body["manifest"].is_object());
    r = call("GET", "/v1/sites/docs/diff?from=r1&to=r2", &viewer_);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, json({{"from", "r1"},
                            {"to", "r2"},
                            {"added", {"new.html"}},
                            {"removed", {"old.html"}},
                            {"changed", {"index.html"}}}));
    EXPECT_EQ(call("GET", "/v1/sites/docs/diff?from=r1", &viewer_).status, 400);
}

TEST_F(AdminHandlerTest, AdminCreatesPrincipalsWithACode) {
    const std::string body = R"({"name":"newbie","role":"deployer"})";
    EXPECT_EQ(call("POST", "/v1/principals", &approver_, body).status, 403);
    EXPECT_EQ(call("POST", "/v1/principals", &admin_, body).code(), "OtpRequired");
    auto r = call("POST", "/v1/principals", &admin_, body, {{"x-moat-otp", otp(admin_)}});
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(r.body["name"], "newbie");
    EXPECT_EQ(r.body["role"], "deployer");
    Who fresh{r.body["token"], r.body["totp_secret"]};
    EXPECT_NE(r.body["otpauth_uri"].get<std::string>().find("otpauth://totp/moat:newbie"),
              std::string::npos);
    auto w = call("GET", "/v1/whoami", &fresh);
    EXPECT_EQ(w.body["principal"], "newbie");
    // The audit record says who was made, never the token.
    auto rec = audit_records().back();
    EXPECT_EQ(rec.event.action, "principals.create");
    EXPECT_EQ(rec.event.target, "newbie");
    EXPECT_EQ(rec.event.detail.find(fresh.token), std::string::npos);

    r = call("POST", "/v1/principals", &admin_, body, {{"x-moat-otp", otp(admin_)}});
    EXPECT_EQ(r.status, 409);
    r = call("GET", "/v1/principals", &admin_);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body["principals"].size(), 5u);
    EXPECT_EQ(r.body["principals"][0].size(), 3u);  // name, role, created
    r = call("DELETE", "/v1/principals/newbie", &admin_, "", {{"x-moat-otp", otp(admin_)}});
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, json({{"removed", "newbie"}}));
    EXPECT_EQ(call("GET", "/v1/whoami", &fresh).status, 401);
}

TEST_F(AdminHandlerTest, BackupEmbedsTheSummary) {
    auto r = call("POST", "/v1/backup", &admin_, R"({"dest":"/srv/backup"})",
                  {{"x-moat-otp", otp(admin_)}});
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(r.body,
              json({{"dest", "/srv/backup"}, {"objects", 3}, {"blobs", 2}, {"bytes", 1234}}));
    EXPECT_EQ(backups_, std::vector<std::string>{"/srv/backup"});
    r = call("POST", "/v1/backup", &admin_, R"({"dest":"relative"})",
             {{"x-moat-otp", otp(admin_)}});
    EXPECT_EQ(r.status, 400);
}

TEST_F(AdminHandlerTest, AuditLogReadsAndVerifies) {
    ASSERT_EQ(call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, kFiles).status, 200);
    ASSERT_EQ(call("POST", "/v1/sites/docs/promote", &deployer_, R"({"from":"testing"})").status,
              202);
    auto r = call("GET", "/v1/audit-log?after=1&limit=10", &viewer_);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body["records"].size(), 1u);
    json rec = r.body["records"][0];
    EXPECT_EQ(rec["seq"], 2);
    EXPECT_EQ(rec["action"], "promote");
    EXPECT_TRUE(rec["detail"].is_object());
    EXPECT_EQ(rec["detail"]["promoted"], false);
    for (const char* k :
         {"time", "source", "principal", "target", "outcome", "peer", "prev_hash", "hash"})
        EXPECT_TRUE(rec.contains(k)) << k;
    r = call("GET", "/v1/audit-log/verify", &viewer_);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, json({{"ok", true}, {"records", 2}, {"problems", json::array()}}));
    EXPECT_EQ(call("GET", "/v1/audit-log?limit=x", &viewer_).status, 400);
}

// "force": true overrides a site's header policy (Reason::kPolicy): admins only, with a code.
const std::string kForcedFiles =
    R"({"force":true,"files":[{"path":"index.html","sha256":")" + kSha + R"("}]})";

Error policy_refusal() {
    return release::release_error(Errc::kDenied, release::Reason::kPolicy,
                                  "header grade C is below min_grade B");
}

TEST_F(AdminHandlerTest, ForceFromANonAdminIs403AndNothingRuns) {
    releases_.errors["deploy"] = policy_refusal();
    auto r = call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, kForcedFiles,
                  {{"x-moat-otp", otp(deployer_)}});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.code(), "AccessDenied");
    r = call("POST", "/v1/sites/docs/approve", &approver_, R"({"release":"r2","force":true})",
             {{"x-moat-otp", otp(approver_)}});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.code(), "AccessDenied");
    EXPECT_TRUE(releases_.calls.empty());
    auto recs = audit_records();
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].event.principal, "bob");
    EXPECT_EQ(recs[0].event.outcome, "denied");
    EXPECT_EQ(json::parse(recs[0].event.detail)["force"], true);
    // Without force the policy refuses the deployer as before.
    r = call("POST", "/v1/sites/docs/envs/testing/deploy", &deployer_, kFiles);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.code(), "PolicyFailed");
}

TEST_F(AdminHandlerTest, ForceNeedsTheAdminsCode) {
    auto r = call("POST", "/v1/sites/docs/envs/testing/deploy", &admin_, kForcedFiles);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "OtpRequired");
    r = call("POST", "/v1/sites/docs/promote", &admin_, R"({"from":"testing","force":true})");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.code(), "OtpRequired");
    EXPECT_TRUE(releases_.calls.empty());
    r = call("POST", "/v1/sites/docs/promote", &admin_, R"({"from":"testing","force":"yes"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.code(), "BadRequest");
}

TEST_F(AdminHandlerTest, AdminForcedDeployPassesThePolicyAndIsAuditedAsForced) {
    releases_.errors["deploy"] = policy_refusal();
    auto r = call("POST", "/v1/sites/docs/envs/testing/deploy", &admin_, kForcedFiles,
                  {{"x-moat-otp", otp(admin_)}});
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(r.body["id"], "r3");
    // Tried as asked without force first: the forced record names what it overrode.
    EXPECT_EQ(releases_.calls, (std::vector<std::string>{"deploy docs/testing by=root",
                                                         "deploy docs/testing by=root force"}));
    auto recs = audit_records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].event.principal, "root");
    EXPECT_EQ(recs[0].event.action, "deploy");
    EXPECT_EQ(recs[0].event.outcome, "ok");
    auto d = json::parse(recs[0].event.detail);
    EXPECT_EQ(d["forced"], true);
    EXPECT_EQ(d["policy"], "header grade C is below min_grade B");
    EXPECT_EQ(d["release"], "r3");
}

TEST_F(AdminHandlerTest, ForceThatOverridesNothingIsRecordedAsNotForced) {
    auto r = call("POST", "/v1/sites/docs/promote", &admin_, R"({"from":"testing","force":true})",
                  {{"x-moat-otp", otp(admin_)}});
    EXPECT_EQ(r.status, 202) << r.res.body_;
    EXPECT_EQ(releases_.calls, std::vector<std::string>{"promote docs/testing by=root"});
    auto d = json::parse(audit_records().back().event.detail);
    EXPECT_EQ(d["forced"], false);
    EXPECT_FALSE(d.contains("policy"));
}

TEST_F(AdminHandlerTest, AdminForcedApproveAndPromote) {
    releases_.errors["approve"] = policy_refusal();
    releases_.errors["promote"] = policy_refusal();
    // The route checked the code once; the force check does not count it a replay.
    auto r = call("POST", "/v1/sites/docs/approve", &admin_, R"({"release":"r2","force":true})",
                  {{"x-moat-otp", otp(admin_)}});
    ASSERT_EQ(r.status, 200) << r.res.body_;
    EXPECT_EQ(r.body["promoted"], true);
    EXPECT_EQ(releases_.calls.back(), "approve docs/r2 by=root force");
    EXPECT_EQ(json::parse(audit_records().back().event.detail)["forced"], true);
    r = call("POST", "/v1/sites/docs/promote", &admin_, R"({"from":"testing","force":true})",
             {{"x-moat-otp", otp(admin_)}});
    EXPECT_EQ(r.status, 202) << r.res.body_;
    EXPECT_EQ(releases_.calls.back(), "promote docs/testing by=root force");
    auto d = json::parse(audit_records().back().event.detail);
    EXPECT_EQ(d["forced"], true);
    EXPECT_EQ(d["policy"], "header grade C is below min_grade B");
    // Other refusals stand, forced or not.
    releases_.errors["promote"] =
        release::release_error(Errc::kNotFound, release::Reason::kNoRelease, "nothing yet");
    r = call("POST", "/v1/sites/docs/promote", &admin_, R"({"from":"testing","force":true})",
             {{"x-moat-otp", otp(admin_)}});
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.code(), "NoRelease");
}

}  // namespace
}  // namespace moat::admin

// `moat deploy` end to end against the in-process fake admin API: only missing contents are
// uploaded, once each; a re-run after an interruption uploads only the rest; bad folders are
// refused before any request.
#include "cli/deploy.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "cli/fake_admin_api.h"

namespace moat::cli {
namespace {

namespace fs = std::filesystem;

class DeployTest : public ::testing::Test {
protected:
    void SetUp() override {
        ::unsetenv("MOAT_CREDENTIALS");
        ::unsetenv("MOAT_TOKEN");
        root_ = srv_.dir() + "/public";
        flags_.url = srv_.url();
        flags_.ca = srv_.ca();
        flags_.token = "moat_test";
        opts_.dir = root_;
        opts_.site = "example.com";
        opts_.jobs = 3;
    }
    void write(const std::string& rel, const std::string& body) {
        fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
        std::ofstream(root_ + "/" + rel, std::ios::binary) << body;
    }
    std::vector<std::string> puts() {
        std::lock_guard lock(srv_.api->mu);
        return srv_.api->put_paths;
    }
    testing::FakeAdminServer srv_;
    std::string root_;
    ConnectionFlags flags_;
    DeployOptions opts_;
};

const std::string kFiles = "/v1/sites/example.com/envs/testing/files/";

TEST_F(DeployTest, UploadsEachMissingContentOnce) {
    write("index.html", "<h1>home</h1>");
    write("copy.html", "<h1>home</h1>");  // same content: reused, not uploaded again
    write("style.css", "body{}");
    write("docs/a b.html", "doc");
    srv_.api->have.insert(testing::sha256_hex("body{}"));  // already in the store
    ASSERT_EQ(run_deploy(opts_, flags_), 0);
    auto p = puts();
    std::sort(p.begin(), p.end());
    EXPECT_EQ(p, (std::vector<std::string>{kFiles + "copy.html", kFiles + "docs/a%20b.html"}));
    EXPECT_EQ(srv_.api->deploys, 1);
    // A second run has nothing to upload and still makes (or confirms) the release.
    ASSERT_EQ(run_deploy(opts_, flags_), 0);
    EXPECT_EQ(puts().size(), 2u);
    EXPECT_EQ(srv_.api->deploys, 2);
}

TEST_F(DeployTest, InterruptedDeployResumesWithWhatIsMissing) {
    for (int i = 0; i < 6; ++i)
        write("f" + std::to_string(i) + ".txt", "content " + std::to_string(i));
    opts_.jobs = 1;
    srv_.api->fail_put_after = 2;
    EXPECT_EQ(run_deploy(opts_, flags_), 1);
    EXPECT_EQ(puts().size(), 2u);
    EXPECT_EQ(srv_.api->deploys, 0);  // nothing visitors see changed
    srv_.api->fail_put_after = -1;
    opts_.jobs = 4;
    ASSERT_EQ(run_deploy(opts_, flags_), 0);
    auto p = puts();
    EXPECT_EQ(p.size(), 6u);
    std::sort(p.begin(), p.end());
    EXPECT_EQ(std::unique(p.begin(), p.end()), p.end());  // no file uploaded twice
    EXPECT_EQ(srv_.api->deploys, 1);
}

TEST_F(DeployTest, BadFolderIsRefusedBeforeAnyRequest) {
    write("index.html", "x");
    fs::create_symlink("/etc/passwd", root_ + "/passwd");
    EXPECT_EQ(run_deploy(opts_, flags_), 2);
    opts_.dir = srv_.dir() + "/nonexistent";
    EXPECT_EQ(run_deploy(opts_, flags_), 2);
    std::lock_guard lock(srv_.api->mu);
    EXPECT_TRUE(srv_.api->seen.empty());
}

TEST_F(DeployTest, UnknownSiteIsBadInput) {
    write("index.html", "x");
    opts_.site = "nope.example";
    EXPECT_EQ(run_deploy(opts_, flags_), 2);
    EXPECT_TRUE(puts().empty());
}

TEST_F(DeployTest, JobsOutOfRangeIsUsageError) {
    write("index.html", "x");
    opts_.jobs = 0;
    EXPECT_EQ(run_deploy(opts_, flags_), 2);
    opts_.jobs = 1000;
    EXPECT_EQ(run_deploy(opts_, flags_), 2);
}

TEST_F(DeployTest, ForceSendsForceAndACodeOnTheDeployCallOnly) {
    write("index.html", "x");
    srv_.api->canned["GET /v1/whoami"] = {200, R"({"principal":"root","role":"admin"})", {}};
    // The first code is refused (as if used a moment ago): the source is asked again.
    srv_.api->hook = [n = 0](const testing::FakeAdminApi::Seen& s) mutable
        -> std::optional<testing::FakeAdminApi::Canned> {
        if (!s.path.ends_with("/deploy") || n++ > 0) return std::nullopt;
        return testing::FakeAdminApi::Canned{
            401, R"({"error":{"code":"OtpInvalid","message":"replayed"}})", {}};
    };
    int asked = 0;
    opts_.force = true;
    opts_.otp = [&asked](const Profile&) -> Result<std::string> {
        return std::to_string(111111 * ++asked);
    };
    ASSERT_EQ(run_deploy(opts_, flags_), 0);
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(srv_.api->deploys, 1);
    std::lock_guard lock(srv_.api->mu);
    const auto& seen = srv_.api->seen;
    ASSERT_GE(seen.size(), 4u);  // whoami, missing, PUT, deploy (refused), deploy
    for (std::size_t i = 0; i + 2 < seen.size(); ++i) EXPECT_EQ(seen[i].otp, "") << seen[i].path;
    EXPECT_EQ(seen[seen.size() - 2].otp, "111111");
    EXPECT_EQ(seen.back().otp, "222222");
    EXPECT_EQ(nlohmann::json::parse(seen.back().body)["force"], true);
    EXPECT_FALSE(nlohmann::json::parse(seen[1].body).contains("force"));  // missing
}

TEST_F(DeployTest, ForceByANonAdminStopsBeforeAnyUpload) {
    write("index.html", "x");
    srv_.api->canned["GET /v1/whoami"] = {200, R"({"principal":"bob","role":"deployer"})", {}};
    opts_.force = true;
    opts_.otp = [](const Profile&) -> Result<std::string> { return std::string("123456"); };
    EXPECT_EQ(run_deploy(opts_, flags_), 1);
    std::lock_guard lock(srv_.api->mu);
    ASSERT_EQ(srv_.api->seen.size(), 1u);
    EXPECT_EQ(srv_.api->seen[0].path, "/v1/whoami");
}

TEST_F(DeployTest, ForceWithoutACodeIsBadInput) {
    write("index.html", "x");
    opts_.force = true;
    opts_.otp = [](const Profile&) -> Result<std::string> {
        return make_error(Errc::kInvalidArgument, "this command needs a TOTP code");
    };
    EXPECT_EQ(run_deploy(opts_, flags_), 2);
    EXPECT_EQ(srv_.api->deploys, 0);
}

}  // namespace
}  // namespace moat::cli

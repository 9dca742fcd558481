// The credentials file (docs/admin-api.md "Credentials file") and how flags and the
// environment override it.
#include "cli/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace moat::cli {
namespace {

constexpr const char* kFile = R"(# demo principals
[demo-deployer]
url = https://localhost:9001/
ca = /abs/path/moat-data/ca/root.pem
token = moat_abc   # the deployer
totp_secret = JBSWY3DPEHPK3PXP   # optional

; another comment style
[demo-approver]
url=https://localhost:9001
token=moat_def
)";

TEST(Credentials, ParsesProfilesInOrderWithComments) {
    auto r = parse_credentials(kFile, "creds");
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(r->size(), 2u);
    const Profile& d = (*r)[0];
    EXPECT_EQ(d.name, "demo-deployer");
    EXPECT_EQ(d.url, "https://localhost:9001");  // trailing '/' dropped: paths start with '/'
    EXPECT_EQ(d.ca, "/abs/path/moat-data/ca/root.pem");
    EXPECT_EQ(d.token, "moat_abc");
    EXPECT_EQ(d.totp_secret, "JBSWY3DPEHPK3PXP");
    EXPECT_EQ((*r)[1].name, "demo-approver");
    EXPECT_EQ((*r)[1].token, "moat_def");
    EXPECT_EQ((*r)[1].totp_secret, "");
}

TEST(Credentials, IgnoresKeysItDoesNotUse) {
    auto r = parse_credentials("[p]\nrole = deployer\ntoken = moat_x\n", "f");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->at(0).token, "moat_x");
}

TEST(Credentials, KeepsHashInsideAValue) {
    auto r = parse_credentials("[p]\nca = /tmp/a#b/root.pem\r\n", "f");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->at(0).ca, "/tmp/a#b/root.pem");
}

TEST(Credentials, ErrorsNameFileAndLine) {
    struct Case {
        const char* text;
        const char* want;
    };
    const Case cases[] = {
        {"url = https://x\n", "f:1: \"url\" before any [profile]"},
        {"[a]\nurl = x\nurl = y\n", "f:3: \"url\" repeated in [a]"},
        {"[a]\n[a]\n", "f:2: profile [a] repeated"},
        {"[a]\njust words\n", "f:2: expected key = value"},
        {"[a\n", "f:1: expected [profile]"},
        {"[ ]\n", "f:1: empty profile name"},
    };
    for (const auto& c : cases) {
        auto r = parse_credentials(c.text, "f");
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
        EXPECT_EQ(r.error().detail.rfind(c.want, 0), 0u) << r.error().detail;
    }
}

TEST(Credentials, DefaultFileLookup) {
    ConnectionFlags f;
    CredentialsEnv env;
    EXPECT_EQ(credentials_path(f, env), "");
    env.demo_file_exists = true;
    EXPECT_EQ(credentials_path(f, env), "moat-data/demo-principals");
    env.moat_credentials = "/etc/moat/creds";
    EXPECT_EQ(credentials_path(f, env), "/etc/moat/creds");
    f.credentials = "./mine";
    EXPECT_EQ(credentials_path(f, env), "./mine");
}

class CredentialsFile : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = (std::filesystem::temp_directory_path() /
                 ("moat-cred-" + std::to_string(::getpid()) + ".ini"))
                    .string();
        std::ofstream(path_) << kFile;
        flags_.credentials = path_;
    }
    void TearDown() override { std::filesystem::remove(path_); }
    std::string path_;
    ConnectionFlags flags_;
    CredentialsEnv env_;
};

TEST_F(CredentialsFile, FirstProfileByDefaultNamedOnRequest) {
    auto p = resolve_profile(flags_, env_);
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_EQ(p->name, "demo-deployer");
    flags_.profile = "demo-approver";
    p = resolve_profile(flags_, env_);
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_EQ(p->token, "moat_def");
    flags_.profile = "nobody";
    p = resolve_profile(flags_, env_);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::kNotFound);
    EXPECT_NE(p.error().detail.find("[nobody]"), std::string::npos);
}

TEST_F(CredentialsFile, FlagsAndEnvironmentOverrideTheFile) {
    env_.moat_token = "moat_env";
    auto p = resolve_profile(flags_, env_);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->token, "moat_env");
    flags_.token = "moat_flag";
    flags_.url = "https://admin.example:9443/";
    flags_.ca = "/other/ca.pem";
    p = resolve_profile(flags_, env_);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->token, "moat_flag");
    EXPECT_EQ(p->url, "https://admin.example:9443");
    EXPECT_EQ(p->ca, "/other/ca.pem");
    EXPECT_EQ(p->totp_secret, "JBSWY3DPEHPK3PXP");  // the file's, still
}

TEST(CredentialsResolve, NeedsUrlAndToken) {
    ConnectionFlags f;
    CredentialsEnv env;
    auto p = resolve_profile(f, env);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().detail.find("--url"), std::string::npos);
    f.url = "https://x:1";
    p = resolve_profile(f, env);
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().detail.find("--token"), std::string::npos);
    env.moat_token = "moat_t";
    p = resolve_profile(f, env);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->token, "moat_t");
    f.credentials = "/nonexistent/moat-creds";
    p = resolve_profile(f, env);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace moat::cli

// AdminClient against the in-process fake admin API over real TLS: headers, methods, error
// answers, and the security floor (https only, the server's certificate verified).
#include "cli/admin_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/fake_admin_api.h"

namespace moat::cli {
namespace {

TEST(PercentEncoding, SegmentsAndPaths) {
    EXPECT_EQ(percent_encode_segment("example.com"), "example.com");
    EXPECT_EQ(percent_encode_segment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
    EXPECT_EQ(percent_encode_segment("\xc3\xbc"), "%C3%BC");
    EXPECT_EQ(percent_encode_path("docs/a b/\xc3\xbc.html"), "docs/a%20b/%C3%BC.html");
    EXPECT_EQ(percent_encode_path("x~y_z-1.2"), "x~y_z-1.2");
}

class AdminClientTest : public ::testing::Test {
protected:
    Profile profile() const { return Profile{"t", srv_.url(), srv_.ca(), "moat_test", ""}; }
    testing::FakeAdminServer srv_;
};

TEST_F(AdminClientTest, SendsTokenOtpAndJson) {
    srv_.api->canned["POST /v1/sites/example.com/approve"] = {200, R"({"promoted":true})", {}};
    AdminClient c(profile());
    auto r = c.call("POST", "/v1/sites/example.com/approve", R"({"release":"r1"})", "123456");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->ok());
    EXPECT_EQ(r->body, R"({"promoted":true})");
    std::lock_guard lock(srv_.api->mu);
    ASSERT_EQ(srv_.api->seen.size(), 1u);
    EXPECT_EQ(srv_.api->seen[0].otp, "123456");
    EXPECT_EQ(srv_.api->seen[0].body, R"({"release":"r1"})");
}

TEST_F(AdminClientTest, DeleteAndErrorAnswers) {
    srv_.api->canned["DELETE /v1/principals/bob"] = {
        429,
        R"({"error":{"code":"TooManyFailures","message":"slow down"}})",
        {{"Retry-After", "300"}}};
    AdminClient c(profile());
    auto r = c.call("DELETE", "/v1/principals/bob");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->status, 429);
    EXPECT_EQ(r->code, "TooManyFailures");
    EXPECT_EQ(r->retry_after, "300");
    EXPECT_EQ(r->error_text(), "TooManyFailures: slow down (429); retry after 300 s");
    EXPECT_EQ(exit_code_for(*r), 1);
    auto nf = c.call("GET", "/v1/sites/nope/releases");
    ASSERT_TRUE(nf);
    EXPECT_EQ(nf->code, "NoSuchSite");
    EXPECT_EQ(exit_code_for(*nf), 2);
}

TEST_F(AdminClientTest, WrongTokenIs401) {
    Profile p = profile();
    p.token = "moat_wrong";
    auto r = AdminClient(p).call("GET", "/v1/whoami");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(r->code, "Unauthorized");
}

TEST_F(AdminClientTest, VerifiesTheServerCertificate) {
    Profile p = profile();
    p.ca = "";  // the system store does not know the test CA
    auto r = AdminClient(p).call("GET", "/v1/whoami");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
    EXPECT_TRUE(srv_.api->seen.empty());  // nothing, not even the token, reached a handler
}

TEST_F(AdminClientTest, RefusesPlainHttp) {
    Profile p = profile();
    p.url = "http://127.0.0.1:1";
    auto r = AdminClient(p).call("GET", "/v1/whoami");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
}

TEST_F(AdminClientTest, PutStreamsAFileWithItsHash) {
    std::string file = srv_.dir() + "/body.bin";
    std::string data(300000, 'z');
    std::ofstream(file, std::ios::binary) << data;
    AdminClient c(profile());
    std::uint64_t reported = 0;
    auto r = c.put_file("/v1/sites/example.com/envs/testing/files/big.bin", file, data.size(),
                        testing::sha256_hex(data), "application/octet-stream",
                        [&](std::uint64_t n) { reported += n; });
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(reported, data.size());
    auto bad = c.put_file("/v1/sites/example.com/envs/testing/files/big.bin", file, data.size(),
                          std::string(64, '0'), "application/octet-stream", nullptr);
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->code, "HashMismatch");
}

}  // namespace
}  // namespace moat::cli

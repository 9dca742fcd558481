#include "audit/http_probe.h"

#include <gtest/gtest.h>

#include "audit/audit.h"

namespace moat::audit {
namespace {

TEST(ResponseHead, ParsesStatusAndRepeatedHeaders) {
    auto r = parse_response_head(
        "HTTP/1.1 301 Moved Permanently\r\nLocation: https://a.test/\r\nSet-Cookie: a=1\r\n"
        "Set-Cookie: b=2\r\nX-Folded: one\r\n two\r\n\r\nbody");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 301);
    ASSERT_EQ(r->headers.size(), 4u);
    EXPECT_EQ(r->headers[1], (std::pair<std::string, std::string>{"Set-Cookie", "a=1"}));
    EXPECT_EQ(r->headers[2].second, "b=2");
    EXPECT_EQ(r->headers[3].second, "one two");
}

TEST(ResponseHead, ControlCharactersBecomeQuestionMarks) {
    auto r = parse_response_head("HTTP/1.1 200 OK\r\nServer: evil\x1b[31m\x07\tx\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->headers[0].second, "evil?[31m?\tx");
}

TEST(ResponseHead, RefusesNonHttp) {
    EXPECT_FALSE(parse_response_head("220 smtp.example ESMTP\r\n").has_value());
    EXPECT_FALSE(parse_response_head("HTTP/1.1 abc\r\n\r\n").has_value());
    EXPECT_FALSE(parse_response_head("").has_value());
}

TEST(Redirects, Classification) {
    EXPECT_EQ(classify_redirect("a.test", 301, "https://a.test/"), HttpPort::kRedirectSameHost);
    EXPECT_EQ(classify_redirect("a.test", 308, "https://A.test:8443/x"),
              HttpPort::kRedirectSameHost);
    EXPECT_EQ(classify_redirect("a.test", 301, "https://www.a.test/"), HttpPort::kRedirectOffHost);
    EXPECT_EQ(classify_redirect("a.test", 302, "http://a.test/"), HttpPort::kRedirectToHttp);
    EXPECT_EQ(classify_redirect("a.test", 301, "/relative"), HttpPort::kRedirectToHttp);
    EXPECT_EQ(classify_redirect("a.test", 200, ""), HttpPort::kNoRedirect);
    EXPECT_EQ(classify_redirect("::1", 301, "https://[::1]:8443/"), HttpPort::kRedirectSameHost);
    EXPECT_EQ(classify_redirect("::1", 301, "https://[::2]/"), HttpPort::kRedirectOffHost);
    EXPECT_EQ(classify_redirect("[::1]", 301, "https://[::1]:8443/"), HttpPort::kRedirectSameHost);
}

TEST(Target, Parses) {
    auto t = parse_target("https://Example.COM:8443/docs/?q=1");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->host, "example.com");
    EXPECT_EQ(t->port, 8443);
    EXPECT_EQ(t->path, "/docs/?q=1");
    auto v6 = parse_target("https://[::1]:9443");
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 9443);
    EXPECT_EQ(v6->path, "/");
    auto bare = parse_target("example.com");
    ASSERT_TRUE(bare.has_value());
    EXPECT_EQ(bare->port, 443);
}

TEST(Target, Refuses) {
    EXPECT_FALSE(parse_target("http://example.com").has_value());
    EXPECT_FALSE(parse_target("https://").has_value());
    EXPECT_FALSE(parse_target("https://a.test:0").has_value());
    EXPECT_FALSE(parse_target("https://a.test:70000").has_value());
    EXPECT_FALSE(parse_target("https://u:p@a.test/").has_value());
    EXPECT_FALSE(parse_target("https://a b.test/").has_value());
    EXPECT_FALSE(parse_target("https://[::1/").has_value());
}

}  // namespace
}  // namespace moat::audit

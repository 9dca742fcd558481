#include "audit/cookies.h"

#include <gtest/gtest.h>

namespace moat::audit {
namespace {

TEST(Cookies, AllFlags) {
    Cookie c = parse_cookie("sessionid=abc; Path=/; Secure; HttpOnly; SameSite=Strict", true);
    EXPECT_EQ(c.name, "sessionid");
    EXPECT_TRUE(c.secure);
    EXPECT_TRUE(c.http_only);
    EXPECT_EQ(c.same_site, "strict");
    EXPECT_TRUE(c.session_like);
    EXPECT_TRUE(c.problems.empty());
}

TEST(Cookies, MissingFlagsAreProblems) {
    Cookie c = parse_cookie("SID=1", true);
    EXPECT_FALSE(c.secure);
    EXPECT_FALSE(c.http_only);
    EXPECT_EQ(c.problems.size(), 3u);  // Secure, HttpOnly (session), SameSite
}

TEST(Cookies, SameSiteRules) {
    EXPECT_FALSE(parse_cookie("a=1; Secure; SameSite=Bogus", true).same_site_valid);
    Cookie none = parse_cookie("a=1; SameSite=None", true);
    EXPECT_EQ(none.problems.size(), 2u);  // no Secure, and None needs Secure
    EXPECT_TRUE(parse_cookie("theme=dark; Secure; SameSite=Lax", true).problems.empty());
}

TEST(Cookies, Prefixes) {
    EXPECT_FALSE(parse_cookie("__Host-x=1; Secure; SameSite=Lax; Path=/", true).problems.size());
    EXPECT_EQ(
        parse_cookie("__Host-x=1; Secure; SameSite=Lax; Path=/; Domain=a.b", true).problems.size(),
        1u);
    EXPECT_EQ(parse_cookie("__Secure-x=1; SameSite=Lax", false).problems.size(), 1u);
}

}  // namespace
}  // namespace moat::audit

#include "audit/headers_grade.h"

#include <gtest/gtest.h>

#include "audit/grade.h"

namespace moat::audit {
namespace {

int points(const HeaderCard& c, const std::string& test) {
    for (const auto& t : c.obs_tests)
        if (t.test == test) return t.points;
    ADD_FAILURE() << "no test " << test;
    return 999;
}

HeaderContext https_redirecting() {
    HeaderContext ctx;
    ctx.http_port = HttpPort::kRedirectSameHost;
    return ctx;
}

TEST(Grades, Order) {
    EXPECT_TRUE(grade_at_least("A+", "A"));
    EXPECT_TRUE(grade_at_least("A", "A"));
    EXPECT_FALSE(grade_at_least("A-", "A"));
    EXPECT_FALSE(grade_at_least("B+", "A-"));
    EXPECT_TRUE(grade_at_least("F", "F"));
    EXPECT_FALSE(grade_at_least("T", "F"));
    EXPECT_FALSE(grade_at_least("A", "Z"));
    EXPECT_FALSE(grade_rank("a").has_value());
    EXPECT_EQ(worse_grade("A+", "B"), "B");
    EXPECT_EQ(worse_grade("C", "A"), "C");
}

TEST(ObservatoryGrade, Table) {
    EXPECT_EQ(observatory_grade(130), "A+");
    EXPECT_EQ(observatory_grade(100), "A+");
    EXPECT_EQ(observatory_grade(95), "A");
    EXPECT_EQ(observatory_grade(85), "A-");
    EXPECT_EQ(observatory_grade(80), "B+");
    EXPECT_EQ(observatory_grade(70), "B");
    EXPECT_EQ(observatory_grade(65), "B-");
    EXPECT_EQ(observatory_grade(60), "C+");
    EXPECT_EQ(observatory_grade(50), "C");
    EXPECT_EQ(observatory_grade(45), "C-");
    EXPECT_EQ(observatory_grade(40), "D+");
    EXPECT_EQ(observatory_grade(30), "D");
    EXPECT_EQ(observatory_grade(25), "D-");
    EXPECT_EQ(observatory_grade(24), "F");
}

TEST(HeaderGrade, MoatDefaultPolicyIsAPlusOnBothCards) {
    site::SiteSettings s;
    HeaderCard c = grade_site_policy(s);
    EXPECT_EQ(c.sh_grade, "A+");
    EXPECT_TRUE(c.sh_missing.empty());
    EXPECT_EQ(c.obs_score, 130);  // 100 + 10 CSP + 5 XFO via CSP + 5 referrer + 10 CORP
    EXPECT_EQ(c.obs_grade, "A+");
    EXPECT_EQ(c.grade(), "A+");
    EXPECT_EQ(points(c, "content-security-policy"), 10);
    EXPECT_EQ(points(c, "x-frame-options"), 5);
    EXPECT_EQ(points(c, "referrer-policy"), 5);
    EXPECT_EQ(points(c, "cross-origin-resource-policy"), 10);
    EXPECT_TRUE(c.deprecated.empty());
    EXPECT_TRUE(c.leaks.empty());
    // The default is not preload-ready: includeSubDomains and preload are opt-in.
    EXPECT_EQ(c.preload_problems.size(), 2u);
}

TEST(HeaderGrade, RefusePolicyStillAPlus) {
    site::SiteSettings s;
    s.http_policy = site::HttpPolicy::kRefuse;
    HeaderCard c = grade_site_policy(s);
    EXPECT_EQ(points(c, "redirection"), 0);
    EXPECT_EQ(c.grade(), "A+");
}

TEST(HeaderGrade, UnsafeInlineCspAndNoHsts) {
    site::HeaderList h{{"Content-Security-Policy", "default-src 'self' 'unsafe-inline'"},
                       {"X-Content-Type-Options", "nosniff"},
                       {"X-Frame-Options", "SAMEORIGIN"}};
    HeaderCard c = grade_headers(h, https_redirecting());
    // securityheaders: HSTS, Referrer-Policy, Permissions-Policy missing -> D, and a warning.
    EXPECT_EQ(c.sh_missing.size(), 3u);
    EXPECT_EQ(c.sh_grade, "D");
    ASSERT_FALSE(c.sh_warnings.empty());
    // Observatory: CSP -20, HSTS -20 -> 60, no bonuses below 90.
    EXPECT_EQ(points(c, "content-security-policy"), -20);
    EXPECT_EQ(points(c, "strict-transport-security"), -20);
    EXPECT_EQ(c.obs_score, 60);
    EXPECT_EQ(c.obs_grade, "C+");
    EXPECT_EQ(c.grade(), "D");
}

TEST(HeaderGrade, UnsafeInlineCapsSecurityHeadersAtA) {
    site::SiteSettings s;
    s.headers.csp = "default-src 'none'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
    HeaderCard c = grade_site_policy(s);
    EXPECT_EQ(c.sh_grade, "A");
    EXPECT_EQ(points(c, "content-security-policy"), -20);
    EXPECT_EQ(c.obs_score, 80);  // bonuses dropped: 100 - 20 < 90
    EXPECT_EQ(c.obs_grade, "B+");
}

TEST(HeaderGrade, NothingAtAll) {
    HeaderCard c = grade_headers({}, HeaderContext{});
    EXPECT_EQ(c.sh_grade, "F");
    // -25 CSP, -20 HSTS, -5 XCTO, -20 XFO.
    EXPECT_EQ(c.obs_score, 30);
    EXPECT_EQ(c.obs_grade, "D");
}

TEST(HeaderGrade, ShortHstsAndUnsafeReferrer) {
    site::SiteSettings s;
    s.headers.hsts_max_age = 86400;
    s.headers.referrer_policy = "unsafe-url";
    HeaderCard c = grade_site_policy(s);
    EXPECT_EQ(points(c, "strict-transport-security"), -10);
    EXPECT_EQ(points(c, "referrer-policy"), -5);
    EXPECT_EQ(c.obs_score, 85);  // 100 - 15 < 90: the bonuses are dropped
    EXPECT_EQ(c.obs_grade, "A-");
}

TEST(HeaderGrade, RedirectionOutcomes) {
    HeaderContext ctx;
    ctx.http_port = HttpPort::kNoRedirect;
    EXPECT_EQ(points(grade_headers({}, ctx), "redirection"), -20);
    ctx.http_port = HttpPort::kRedirectOffHost;
    EXPECT_EQ(points(grade_headers({}, ctx), "redirection"), -5);
    ctx.http_port = HttpPort::kNotListening;
    EXPECT_EQ(points(grade_headers({}, ctx), "redirection"), 0);
}

TEST(HeaderGrade, HstsIgnoredOverHttp) {
    HeaderContext ctx;
    ctx.https = false;
    HeaderCard c = grade_headers({{"strict-transport-security", "max-age=63072000"}}, ctx);
    EXPECT_FALSE(c.hsts.has_value());
    EXPECT_EQ(points(c, "strict-transport-security"), -20);
}

TEST(HeaderGrade, CookieScoring) {
    site::SiteSettings s;
    auto h = site::security_headers(s.headers, true);
    h.emplace_back("Set-Cookie", "sessionid=1; Secure; HttpOnly; SameSite=Lax");
    EXPECT_EQ(points(grade_headers(h, https_redirecting()), "cookies"), 5);
    h.emplace_back("Set-Cookie", "theme=1; SameSite=Lax");  // no Secure, HSTS on
    EXPECT_EQ(points(grade_headers(h, https_redirecting()), "cookies"), -5);
    h.emplace_back("Set-Cookie", "SID=2; Secure; SameSite=Lax");  // session without HttpOnly
    HeaderCard c = grade_headers(h, https_redirecting());
    EXPECT_EQ(points(c, "cookies"), -30);
    EXPECT_EQ(c.cookies.size(), 3u);
    EXPECT_NE(c.sh_grade, "A+");  // cookie problems are warnings
}

TEST(HeaderGrade, CorsReflectionWithCredentials) {
    HeaderContext ctx = https_redirecting();
    ctx.sent_origin = "https://evil.example";
    HeaderCard c = grade_headers({{"access-control-allow-origin", "https://evil.example"},
                                  {"access-control-allow-credentials", "true"}},
                                 ctx);
    EXPECT_EQ(points(c, "cross-origin-resource-sharing"), -50);
    HeaderCard star = grade_headers({{"access-control-allow-origin", "*"}}, ctx);
    EXPECT_EQ(points(star, "cross-origin-resource-sharing"), 0);
}

TEST(HeaderGrade, DeprecatedLeaksAndUnknownFeatures) {
    site::HeaderList h{{"Server", "nginx/1.22.1"},
                       {"X-Powered-By", "PHP/8.2"},
                       {"X-XSS-Protection", "1; mode=block"},
                       {"Expect-CT", "enforce, max-age=7257600"},
                       {"Permissions-Policy", "camera=(), vibrate=(), speaker=()"}};
    HeaderCard c = grade_headers(h, HeaderContext{});
    EXPECT_EQ(c.deprecated, (std::vector<std::string>{"expect-ct", "x-xss-protection"}));
    EXPECT_EQ(c.leaks.size(), 2u);
    int unknown = 0;
    for (const auto& n : c.notes) unknown += n.find("unknown feature") != std::string::npos;
    EXPECT_EQ(unknown, 2);
}

TEST(HeaderGrade, XfoViaFrameAncestorsCountsForSecurityHeaders) {
    site::SiteSettings s;
    s.headers.x_frame_options.clear();
    HeaderCard c = grade_site_policy(s);
    EXPECT_EQ(c.sh_grade, "A+");
    EXPECT_EQ(points(c, "x-frame-options"), 5);
}

TEST(MinHeaderGrade, PassesFailsAndNamesTheKey) {
    site::SiteSettings s;
    s.host = "example.test";
    EXPECT_TRUE(check_min_header_grade(s).has_value());  // no minimum
    s.headers.min_grade = "A+";
    EXPECT_TRUE(check_min_header_grade(s).has_value());
    s.headers.csp = "default-src 'self' 'unsafe-inline'";
    auto r = check_min_header_grade(s);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().detail.find("headers.min_grade"), std::string::npos);
    EXPECT_NE(r.error().detail.find("below the minimum A+"), std::string::npos);
    s.headers.min_grade = "B";
    EXPECT_TRUE(check_min_header_grade(s).has_value());  // 100-20 = 80 B+, securityheaders A
    s.headers.min_grade = "nope";
    EXPECT_FALSE(check_min_header_grade(s).has_value());
}

}  // namespace
}  // namespace moat::audit

#include "site/header_policy.h"

#include <gtest/gtest.h>

namespace moat::site {
namespace {

using Pairs = HeaderList;

const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests";

TEST(SecurityHeaders, DefaultsOverHttpsAreTheRecommendedSet) {
    const Pairs want{
        {"strict-transport-security", "max-age=63072000"},
        {"content-security-policy", kCsp},
        {"x-content-type-options", "nosniff"},
        {"x-frame-options", "DENY"},
        {"referrer-policy", "strict-origin-when-cross-origin"},
        {"permissions-policy",
         "camera=(), microphone=(), geolocation=(), payment=(), usb=(), fullscreen=(self)"},
        {"cross-origin-opener-policy", "same-origin"},
        {"cross-origin-resource-policy", "same-origin"},
    };
    EXPECT_EQ(security_headers(HeaderPolicy{}, true), want);
}

TEST(SecurityHeaders, NoHstsOverPlainHttp) {
    const Pairs got = security_headers(HeaderPolicy{}, false);
    ASSERT_EQ(got.size(), 7u);
    EXPECT_EQ(got[0].first, "content-security-policy");
    for (const auto& h : got) EXPECT_NE(h.first, "strict-transport-security");
}

TEST(SecurityHeaders, HstsOptions) {
    HeaderPolicy p;
    p.hsts_max_age = 31536000;
    p.hsts_include_subdomains = true;
    p.hsts_preload = true;
    EXPECT_EQ(security_headers(p, true)[0],
              Pairs::value_type("strict-transport-security",
                                "max-age=31536000; includeSubDomains; preload"));
    p.hsts_max_age = -1;
    EXPECT_EQ(security_headers(p, true)[0].first, "content-security-policy");
    p.hsts_max_age = 0;  // max-age=0 tells browsers to forget the host (RFC 6797 §6.1.1)
    EXPECT_EQ(security_headers(p, true)[0].second, "max-age=0; includeSubDomains; preload");
}

TEST(SecurityHeaders, EmptyValuesAreNotSent) {
    HeaderPolicy p;
    p.csp.clear();
    p.x_frame_options.clear();
    const Pairs got = security_headers(p, true);
    EXPECT_EQ(got.size(), 6u);
    for (const auto& h : got) {
        EXPECT_NE(h.first, "content-security-policy");
        EXPECT_NE(h.first, "x-frame-options");
    }
}

TEST(SecurityHeaders, AddAndRemove) {
    HeaderPolicy p;
    p.remove = {"X-Frame-Options", "cross-origin-opener-policy", "Strict-Transport-Security"};
    p.add = {{"Cross-Origin-Resource-Policy", "cross-origin"},
             {"Cross-Origin-Embedder-Policy", "require-corp"},
             {"Link", "</a.css>; rel=preload"},
             {"Link", "</b.css>; rel=preload"}};
    const Pairs want{
        {"content-security-policy", kCsp},
        {"x-content-type-options", "nosniff"},
        {"referrer-policy", "strict-origin-when-cross-origin"},
        {"permissions-policy",
         "camera=(), microphone=(), geolocation=(), payment=(), usb=(), fullscreen=(self)"},
        {"cross-origin-resource-policy", "cross-origin"},  // replaced in place
        {"cross-origin-embedder-policy", "require-corp"},
        {"link", "</a.css>; rel=preload"},
        {"link", "</b.css>; rel=preload"},
    };
    EXPECT_EQ(security_headers(p, true), want);
}

TEST(SecurityHeaders, SkipsInvalidAdds) {
    HeaderPolicy p;
    p.add = {{"X-Ok", "1"},
             {"Bad Name", "1"},
             {"X-Inject", "a\r\nSet-Cookie: x"},
             {"Content-Length", "5"},
             {"Server", "moat"}};
    const Pairs got = security_headers(p, false);
    ASSERT_EQ(got.size(), 8u);
    EXPECT_EQ(got.back(), Pairs::value_type("x-ok", "1"));
}

TEST(ValidateHeaderPolicy, NamesTheBadEntry) {
    EXPECT_TRUE(validate_header_policy(HeaderPolicy{}));
    HeaderPolicy p;
    p.add = {{"X-Inject", "a\nb"}};
    EXPECT_FALSE(validate_header_policy(p));
    p.add = {{"Bad Name", "x"}};
    EXPECT_FALSE(validate_header_policy(p));
    p.add = {{"Transfer-Encoding", "chunked"}};
    auto r = validate_header_policy(p);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("Transfer-Encoding"), std::string::npos);
    p.add.clear();
    p.csp = "default-src 'none'\r\nX: y";
    EXPECT_FALSE(validate_header_policy(p));
}

}  // namespace
}  // namespace moat::site

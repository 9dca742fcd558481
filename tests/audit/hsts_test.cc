#include "audit/hsts.h"

#include <gtest/gtest.h>

namespace moat::audit {
namespace {

TEST(HstsParse, Directives) {
    Hsts h = parse_hsts("max-age=63072000; includeSubDomains; preload");
    EXPECT_TRUE(h.valid);
    EXPECT_EQ(h.max_age, 63072000);
    EXPECT_TRUE(h.include_subdomains);
    EXPECT_TRUE(h.preload);
}

TEST(HstsParse, QuotedAndCaseInsensitive) {
    Hsts h = parse_hsts("MAX-AGE=\"300\" ; INCLUDESUBDOMAINS; unknown=1");
    EXPECT_TRUE(h.valid);
    EXPECT_EQ(h.max_age, 300);
    EXPECT_TRUE(h.include_subdomains);
}

TEST(HstsParse, Invalid) {
    EXPECT_FALSE(parse_hsts("includeSubDomains").valid);  // no max-age
    EXPECT_FALSE(parse_hsts("max-age=1; max-age=2").valid);
    EXPECT_FALSE(parse_hsts("max-age=abc").valid);
    EXPECT_FALSE(parse_hsts("max-age=-5").valid);
    EXPECT_FALSE(parse_hsts("max-age=").valid);
    EXPECT_FALSE(parse_hsts("max-age=5; preload; preload").valid);
}

TEST(HstsPreload, ReadyNeedsYearSubdomainsPreloadAndRedirect) {
    EXPECT_TRUE(
        preload_problems(parse_hsts("max-age=31536000; includeSubDomains; preload"), true).empty());
    EXPECT_TRUE(
        preload_problems(parse_hsts("max-age=31536000; includeSubDomains; preload"), std::nullopt)
            .empty());
    EXPECT_EQ(
        preload_problems(parse_hsts("max-age=31535999; includeSubDomains; preload"), true).size(),
        1u);
    EXPECT_EQ(preload_problems(parse_hsts("max-age=63072000"), true).size(), 2u);
    EXPECT_EQ(
        preload_problems(parse_hsts("max-age=63072000; includeSubDomains; preload"), false).size(),
        1u);
    EXPECT_EQ(preload_problems(std::nullopt, std::nullopt).size(), 1u);
    EXPECT_EQ(preload_problems(parse_hsts("bogus"), std::nullopt).size(), 1u);
}

}  // namespace
}  // namespace moat::audit

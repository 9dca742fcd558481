#include "site/cache_rules.h"

#include <gtest/gtest.h>

namespace moat::site {
namespace {

TEST(GlobMatch, StarStopsAtSlashDoubleStarDoesNot) {
    struct Case {
        const char* pattern;
        const char* path;
        bool want;
    } cases[] = {
        {"/img/*.png", "/img/a.png", true},
        {"/img/*.png", "/img/.png", true},
        {"/img/*.png", "/img/sub/a.png", false},
        {"/img/*.png", "/img/a.jpg", false},
        {"/img/*.png", "/img/a.png.bak", false},
        {"/img/**.png", "/img/sub/deep/a.png", true},
        {"/img/**", "/img/", true},
        {"/**/index.html", "/a/b/index.html", true},
        {"/**/index.html", "/index.html", false},
        {"/*/*.css", "/a/b.css", true},
        {"/*/*.css", "/a/b/c.css", false},
        {"/exact.txt", "/exact.txt", true},
        {"/exact.txt", "/exact.txt2", false},
        {"*", "", true},
        {"", "", true},
        {"", "/a", false},
    };
    for (const auto& c : cases)
        EXPECT_EQ(glob_match(c.pattern, c.path), c.want) << c.pattern << " vs " << c.path;
}

TEST(MatchCacheControl, DefaultRulesFirstMatchWins) {
    const SiteSettings s;  // /assets/ prefix, jpg, html
    const auto& r = s.cache_rules;
    const std::string_view d = s.default_cache_control;
    EXPECT_EQ(match_cache_control(r, d, "/assets/app.js"), "public, max-age=15552000, immutable");
    // The prefix rule comes first, so a jpg under /assets/ is immutable too.
    EXPECT_EQ(match_cache_control(r, d, "/assets/a.jpg"), "public, max-age=15552000, immutable");
    EXPECT_EQ(match_cache_control(r, d, "/photos/a.jpg"), "public, max-age=1209600");
    EXPECT_EQ(match_cache_control(r, d, "/photos/A.JPG"), "public, max-age=1209600");
    EXPECT_EQ(match_cache_control(r, d, "/index.html"), "public, max-age=43200");
    EXPECT_EQ(match_cache_control(r, d, "/a/index.html"), "public, max-age=43200");
    EXPECT_EQ(match_cache_control(r, d, "/style.css"), "public, max-age=3600");
    EXPECT_EQ(match_cache_control(r, d, "/assetsx/a.css"), "public, max-age=3600");
    EXPECT_EQ(match_cache_control(r, d, "/jpg"), "public, max-age=3600");
    EXPECT_EQ(match_cache_control(r, d, "/a.jpg/x"), "public, max-age=3600");
}

TEST(MatchCacheControl, GlobAndExtensionRules) {
    const std::vector<CacheRule> rules{
        {"", "/img/*.png", "", "glob"},
        {"", "", ".png", "ext-with-dot"},
        {"", "/**/*.json", "", "deep-json"},
        {"", "", "gz", "gz"},
    };
    EXPECT_EQ(match_cache_control(rules, "dflt", "/img/a.png"), "glob");
    EXPECT_EQ(match_cache_control(rules, "dflt", "/img/x/a.png"), "ext-with-dot");
    EXPECT_EQ(match_cache_control(rules, "dflt", "/a/b/c.json"), "deep-json");
    EXPECT_EQ(match_cache_control(rules, "dflt", "/c.json"), "dflt");
    EXPECT_EQ(match_cache_control(rules, "dflt", "/a.tar.gz"), "gz");
    EXPECT_EQ(match_cache_control(rules, "dflt", "/a.tar"), "dflt");
    EXPECT_EQ(match_cache_control({}, "dflt", "/x"), "dflt");
}

}  // namespace
}  // namespace moat::site

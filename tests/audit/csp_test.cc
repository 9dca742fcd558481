#include "audit/csp.h"

#include <gtest/gtest.h>

namespace moat::audit {
namespace {

const char* kMoatDefault =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests";

TEST(CspParse, SplitsDirectivesAndLowercasesKeywords) {
    CspPolicy p = parse_csp("Default-Src 'SELF'  https://CDN.example ;; script-src 'nonce-AbC='");
    ASSERT_EQ(p.directives.size(), 2u);
    EXPECT_EQ(p.directives.at("default-src"),
              (std::vector<std::string>{"'self'", "https://cdn.example"}));
    EXPECT_EQ(p.directives.at("script-src"), (std::vector<std::string>{"'nonce-AbC='"}));
}

TEST(CspParse, DuplicateDirectiveKeepsTheFirst) {
    CspPolicy p = parse_csp("script-src 'self'; script-src *");
    EXPECT_EQ(p.directives.at("script-src"), (std::vector<std::string>{"'self'"}));
    EXPECT_EQ(p.duplicates, (std::vector<std::string>{"script-src"}));
}

TEST(CspParse, GarbageGivesNoDirectivesAndInvalid) {
    EXPECT_TRUE(parse_csp("").empty());
    EXPECT_TRUE(parse_csp(" ; ;").empty());
    EXPECT_FALSE(analyze_csp(parse_csp(";;")).valid);
}

TEST(CspAnalyze, MoatDefaultIsClean) {
    CspFindings f = analyze_csp(parse_csp(kMoatDefault));
    EXPECT_TRUE(f.valid);
    EXPECT_FALSE(f.unsafe());
    EXPECT_TRUE(f.default_none);
    EXPECT_TRUE(f.form_action_restricted);
    EXPECT_TRUE(f.frame_ancestors);
    EXPECT_TRUE(f.base_uri);
    EXPECT_TRUE(f.warnings().empty());
}

TEST(CspAnalyze, UnsafeInlineAndEvalInScriptSrc) {
    CspFindings f = analyze_csp(parse_csp("default-src 'self' 'unsafe-inline' 'unsafe-eval'"));
    EXPECT_TRUE(f.unsafe_inline_script);  // falls back from default-src
    EXPECT_TRUE(f.unsafe_eval);
    EXPECT_TRUE(f.unsafe());
    EXPECT_TRUE(f.unsafe_inline_style);
}

TEST(CspAnalyze, NonceNeutralisesUnsafeInline) {
    CspFindings f =
        analyze_csp(parse_csp("default-src 'none'; script-src 'unsafe-inline' 'nonce-x'"));
    EXPECT_FALSE(f.unsafe_inline_script);
}

TEST(CspAnalyze, StrictDynamicWithoutNonceIsInvalid) {
    EXPECT_FALSE(analyze_csp(parse_csp("script-src 'strict-dynamic'")).valid);
    EXPECT_TRUE(analyze_csp(parse_csp("script-src 'strict-dynamic' 'sha256-abc'")).valid);
}

TEST(CspAnalyze, WildcardsAndMissingRestrictions) {
    CspFindings f = analyze_csp(parse_csp("script-src https:; object-src *"));
    EXPECT_TRUE(f.broad_script);
    EXPECT_TRUE(f.broad_object);
    CspFindings g = analyze_csp(parse_csp("img-src 'self'"));
    EXPECT_TRUE(g.script_unrestricted);
    EXPECT_TRUE(g.object_unrestricted);
    EXPECT_FALSE(g.frame_ancestors);
    EXPECT_FALSE(g.base_uri);
    EXPECT_FALSE(g.form_action);
    CspFindings d = analyze_csp(parse_csp("default-src 'self'; script-src 'self' data:"));
    EXPECT_TRUE(d.data_in_script);
}

TEST(CspAnalyze, InsecureSchemes) {
    CspFindings a = analyze_csp(parse_csp("default-src 'self'; img-src http:"));
    EXPECT_TRUE(a.insecure_passive);
    EXPECT_FALSE(a.insecure_active);
    CspFindings b = analyze_csp(parse_csp("default-src 'self'; style-src http://cdn.example"));
    EXPECT_TRUE(b.insecure_active);
}

TEST(CspAnalyze, DeprecatedDirectives) {
    CspFindings f = analyze_csp(parse_csp("default-src 'self'; prefetch-src 'self'"));
    EXPECT_EQ(f.deprecated, (std::vector<std::string>{"prefetch-src"}));
}

}  // namespace
}  // namespace moat::audit

#include "mail/grammar.h"

#include <gtest/gtest.h>

namespace moat::mail::grammar {
namespace {

TEST(MxPattern, AcceptsNamesAndLeftMostWildcards) {
    for (const char* ok : {"mail.example.com", "*.example.net", "xn--bcher-kva.example",
                           "backupmx.example.com", "a-b.example"})
        EXPECT_EQ(mx_pattern_error(ok), "") << ok;
}

TEST(MxPattern, RefusesWhatTheGrammarForbids) {
    // reference mail.md §8 "-" fixtures.
    for (const char* bad : {"*", "mail.*.example.com", "*example.com",
                            "a.example.com, b.example.com", "mail.example.com:25",
                            "b\xc3\xbc"
                            "cher.example",
                            "mail.example.com.", "-a.example", "com", "", "192.0.2.1", "a..b"})
        EXPECT_NE(mx_pattern_error(bad), "") << bad;
}

TEST(MxMatch, FollowsRfc8461Section41) {
    EXPECT_TRUE(mx_matches("mail.example.com", "MAIL.Example.COM"));
    EXPECT_TRUE(mx_matches("mail.example.com", "mail.example.com."));
    EXPECT_TRUE(mx_matches("*.example.net", "mx1.example.net"));
    EXPECT_FALSE(mx_matches("*.example.net", "example.net"));
    EXPECT_FALSE(mx_matches("*.example.net", "a.b.example.net"));
    EXPECT_FALSE(mx_matches("*.example.net", "xexample.net"));
    EXPECT_TRUE(mx_matches("xn--bcher-kva.example", "xn--bcher-kva.example"));
    EXPECT_FALSE(mx_matches("mail.example.com", "mail2.example.com"));
}

TEST(StsId, IsOneTo32LettersAndDigits) {
    EXPECT_TRUE(valid_sts_id("20160831085700Z"));
    EXPECT_TRUE(valid_sts_id("a"));
    EXPECT_TRUE(valid_sts_id(std::string(32, '1')));
    EXPECT_FALSE(valid_sts_id(std::string(33, '1')));
    EXPECT_FALSE(valid_sts_id(""));
    EXPECT_FALSE(valid_sts_id("2019-04-29"));
}

TEST(RenderPolicy, IsTheRfcShapeWithOneTerminator) {
    MailDomain d;
    d.domain = "example.com";
    d.mode = StsMode::kEnforce;
    d.mx = {"mail.example.com", "*.example.net"};
    d.max_age = 604800;
    EXPECT_EQ(render_policy(d),
              "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
              "max_age: 604800\n");
    d.mode = StsMode::kNone;
    d.mx.clear();
    EXPECT_EQ(render_policy(d), "version: STSv1\nmode: none\nmax_age: 604800\n");
}

TEST(Rua, AcceptsMailtoAndHttpsOnly) {
    EXPECT_EQ(rua_error("mailto:tlsrpt@example.com"), "");
    EXPECT_EQ(rua_error("https://reporting.example.com/v1/tlsrpt"), "");
    EXPECT_NE(rua_error("tlsrpt@example.com"), "");
    EXPECT_NE(rua_error("http://r.example/x"), "");
    EXPECT_NE(rua_error("mailto:a!10m@example.com"), "");
    EXPECT_NE(rua_error("mailto:"), "");
}

}  // namespace
}  // namespace moat::mail::grammar

#include "mail/policy_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace moat::mail {
namespace {

// Worst status among the results with this id (kPass when none).
Status worst(const CheckResults& rs, const std::string& id) {
    Status w = Status::kPass;
    for (const auto& r : rs)
        if (r.id == id && r.status > w) w = r.status;
    return w;
}

const std::string kRfc =
    "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
    "mx: backupmx.example.com\nmax_age: 604800\n";

TEST(ParsePolicy, AcceptsTheRfcExampleWithLfCrlfAndNoFinalTerminator) {
    for (std::string body : {kRfc,
                             std::string("version: STSv1\r\nmode: enforce\r\nmx: "
                                         "mail.example.com\r\nmax_age: 604800\r\n"),
                             kRfc.substr(0, kRfc.size() - 1)}) {
        auto p = parse_policy(body);
        EXPECT_TRUE(p.valid) << body;
        EXPECT_EQ(*p.mode, "enforce");
        EXPECT_EQ(*p.max_age, 604800);
        EXPECT_EQ(worst(p.results, "P2"), Status::kPass);
    }
}

TEST(ParsePolicy, ModeNoneNeedsNoMx) {
    auto p = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n");
    EXPECT_TRUE(p.valid);
    EXPECT_EQ(worst(p.results, "P5"), Status::kWarn);
}

TEST(ParsePolicy, ExtensionsAndTrailingSpacesAreFine) {
    auto p = parse_policy(
        "version: STSv1  \nmode: testing\nmx: a.example.com \nmax_age: "
        "31557600\nfoo_bar: a b=;c\n");
    EXPECT_TRUE(p.valid);
    EXPECT_EQ(p.mx[0], "a.example.com");
    EXPECT_EQ(worst(p.results, "P8"), Status::kInfo);
}

struct Bad {
    const char* name;
    std::string body;
    const char* id;
    Status want;
};

class ParsePolicyBad : public ::testing::TestWithParam<Bad> {};

TEST_P(ParsePolicyBad, ReportsTheRule) {
    const Bad& b = GetParam();
    auto p = parse_policy(b.body);
    EXPECT_EQ(worst(p.results, b.id), b.want) << b.name;
    if (b.want == Status::kFail) EXPECT_FALSE(p.valid) << b.name;
}

const std::string kTail = "mode: enforce\nmx: mail.example.com\nmax_age: 604800\n";

INSTANTIATE_TEST_SUITE_P(
    Fixtures, ParsePolicyBad,
    ::testing::Values(
        Bad{"bom", "\xEF\xBB\xBFversion: STSv1\n" + kTail, "P1", Status::kFail},
        Bad{"latin1", "version: STSv1\nmx: caf\xe9.example\n" + kTail, "P1", Status::kFail},
        Bad{"cr only", "version: STSv1\rmode: enforce\rmx: a.example.com\rmax_age: 604800\r", "P2",
            Status::kFail},
        Bad{"blank line", "version: STSv1\n\n" + kTail, "P2", Status::kWarn},
        Bad{"double end", "version: STSv1\n" + kTail + "\n", "P2", Status::kWarn},
        Bad{"mixed", "version: STSv1\r\n" + kTail, "P2", Status::kWarn},
        Bad{"leading space", " version: STSv1\n" + kTail, "P3", Status::kFail},
        Bad{"space before colon", "version: STSv1\nmode : enforce\nmx: a.example.com\nmax_age: 1\n",
            "P3", Status::kFail},
        Bad{"comment", "# hi\nversion: STSv1\n" + kTail, "P3", Status::kFail},
        Bad{"Version", "Version: STSv1\n" + kTail, "P4", Status::kFail},
        Bad{"STSv2", "version: STSv2\n" + kTail, "P4", Status::kFail},
        Bad{"Enforce", "version: STSv1\nmode: Enforce\nmx: a.example.com\nmax_age: 604800\n", "P5",
            Status::kFail},
        Bad{"report", "version: STSv1\nmode: report\nmx: a.example.com\nmax_age: 604800\n", "P5",
            Status::kFail},
        Bad{"no mode", "version: STSv1\nmx: a.example.com\nmax_age: 604800\n", "P5", Status::kFail},
        Bad{"max_age -1", "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: -1\n", "P6",
            Status::kFail},
        Bad{"max_age 1e6", "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 1e6\n", "P6",
            Status::kFail},
        Bad{"max_age units", "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 86400s\n",
            "P6", Status::kFail},
        Bad{"max_age big", "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 31557601\n",
            "P6", Status::kFail},
        Bad{"max_age 11 digits",
            "version: STSv1\nmode: enforce\nmx: a.example.com\nmax_age: 12345678901\n", "P6",
            Status::kFail},
        Bad{"max_age 0", "version: STSv1\nmode: testing\nmx: a.example.com\nmax_age: 0\n", "P6",
            Status::kWarn},
        Bad{"max_age hours", "version: STSv1\nmode: testing\nmx: a.example.com\nmax_age: 3600\n",
            "P6", Status::kWarn},
        Bad{"enforce no mx", "version: STSv1\nmode: enforce\nmax_age: 604800\n", "P7",
            Status::kFail},
        Bad{"mx star", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 604800\n", "P7",
            Status::kFail},
        Bad{"mx inner star", "version: STSv1\nmode: enforce\nmx: mail.*.example.com\nmax_age: 1\n",
            "P7", Status::kFail},
        Bad{"mx port", "version: STSv1\nmode: enforce\nmx: mail.example.com:25\nmax_age: 1\n", "P7",
            Status::kFail},
        Bad{"mx list",
            "version: STSv1\nmode: enforce\nmx: a.example.com, b.example.com\nmax_age: 1\n", "P7",
            Status::kFail},
        Bad{"mx trailing dot",
            "version: STSv1\nmode: enforce\nmx: mail.example.com.\nmax_age: 604800\n", "P7",
            Status::kWarn},
        Bad{"mx ip", "version: STSv1\nmode: enforce\nmx: 192.0.2.1\nmax_age: 604800\n", "P7",
            Status::kWarn},
        Bad{"duplicate mode",
            "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example.com\nmax_age: 604800\n",
            "P8", Status::kWarn},
        Bad{"html", "<html><body>hi</body></html>\n", "P3", Status::kFail},
        Bad{"json", "{\"version\": \"STSv1\"}\n", "P3", Status::kFail}),
    [](const auto& info) {
        std::string n;
        for (char c : std::string(info.param.name)) n += std::isalnum(c) ? c : '_';
        return n;
    });

TEST(ParsePolicy, DuplicateModeKeepsTheFirst) {
    auto p = parse_policy(
        "version: STSv1\nmode: enforce\nmode: testing\nmx: a.example.com\nmax_age: 604800\n");
    EXPECT_EQ(*p.mode, "enforce");
}

TEST(ParseStsRecord, GoodRecords) {
    for (const char* t : {"v=STSv1; id=20160831085700Z;", "v=STSv1;id=a", "v=STSv1;\tid=1",
                          "v=STSv1; id=abc; ext_1.x=foo", "v=STSv1; id=123"}) {
        auto r = parse_sts_record(t);
        EXPECT_TRUE(r.valid) << t;
    }
    EXPECT_EQ(parse_sts_record("v=STSv1; id=abc").id, "abc");
}

TEST(ParseStsRecord, BadRecords) {
    for (const char* t :
         {"v=STSv1", "v=STSv1; id=", "v=STSv1; id=2019-04-29",
          "v=STSv1; id=123456789012345678901234567890123", "id=1; v=STSv1", "v=stsv1; id=1",
          "v=STSv2; id=1", "v=STSv1; id=1;;", "v=STSv1; id=1; a=b c", "v=STS1; id=1",
          "v=STSv1; id=1; \xc3\xa9=x", "v=STSv12; id=1"}) {
        auto r = parse_sts_record(t);
        EXPECT_FALSE(r.valid) << t;
    }
}

TEST(ParseStsRecord, AmbiguousForms) {
    auto sp = parse_sts_record("v=STSv1 ; id=1");
    EXPECT_TRUE(sp.valid);
    EXPECT_EQ(worst(sp.results, "S4"), Status::kWarn);
    auto two = parse_sts_record("v=STSv1; id=1; id=2");
    EXPECT_EQ(two.id, "1");
    EXPECT_EQ(worst(two.results, "S4"), Status::kWarn);
}

TEST(ParseTlsRptRecord, Fixtures) {
    for (const char* t : {"v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
                          "v=TLSRPTv1;rua=https://reporting.example.com/v1/tlsrpt",
                          "v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.net/x",
                          "v=TLSRPTv1; rua=mailto:a@x.org; foo=bar"})
        EXPECT_TRUE(parse_tlsrpt_record(t).valid) << t;
    EXPECT_EQ(parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.net/x")
                  .rua.size(),
              2u);
    for (const char* t :
         {"v=TLSRPTv1;", "v=TLSRPTv1; rua=tlsrpt@example.com", "v=TLSRPTv1; rua=http://r.example/x",
          "v=TLSRPTv1; rua=mailto:a!10m@example.com", "v=tlsrptv1; rua=mailto:a@b.c"})
        EXPECT_FALSE(parse_tlsrpt_record(t).valid) << t;
}

}  // namespace
}  // namespace moat::mail

#include "mail/dns_plan.h"

#include <gtest/gtest.h>

namespace moat::mail {
namespace {

MailDomain domain() {
    MailDomain d;
    d.domain = "example.com";
    d.mode = StsMode::kEnforce;
    d.mx = {"mail.example.com"};
    d.tlsrpt_rua = {"mailto:tlsrpt@example.com", "https://r.example.net/tlsrpt"};
    return d;
}

TEST(DnsPlan, MailDomainListsEveryRecord) {
    PlanInputs in;
    in.addresses = {"192.0.2.10", "2001:db8::10"};
    in.caa_issuers = {"letsencrypt.org"};
    auto plan = plan_mail(domain(), "20261128233000abcdef12", in);
    std::string text = format_plan(plan);
    EXPECT_NE(text.find("_mta-sts.example.com. 300 IN TXT \"v=STSv1; id=20261128233000abcdef12\""),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("_smtp._tls.example.com. 3600 IN TXT \"v=TLSRPTv1; "
                        "rua=mailto:tlsrpt@example.com,https://r.example.net/tlsrpt\""),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("mta-sts.example.com. 3600 IN A 192.0.2.10"), std::string::npos);
    EXPECT_NE(text.find("mta-sts.example.com. 3600 IN AAAA 2001:db8::10"), std::string::npos);
    EXPECT_NE(text.find("mta-sts.example.com. 3600 IN CAA 0 issue \"letsencrypt.org\""),
              std::string::npos);
    EXPECT_NE(text.find("must match one of: mail.example.com"), std::string::npos);
}

TEST(DnsPlan, PlaceholdersWithoutAddressesAndANoteWithoutCaa) {
    PlanInputs in;
    in.caa_note = "internal CA";
    auto d = domain();
    d.tlsrpt_rua.clear();
    auto plan = plan_mail(d, "1", in);
    int placeholders = 0;
    for (const auto& r : plan.records) placeholders += r.placeholder;
    EXPECT_EQ(placeholders, 2);
    std::string text = format_plan(plan);
    EXPECT_EQ(text.find("v=TLSRPTv1"), std::string::npos);
    EXPECT_NE(text.find("note: internal CA"), std::string::npos);
    EXPECT_NE(text.find("no tlsrpt addresses"), std::string::npos);
}

TEST(DnsPlan, SiteHasAddressesAndCaaPerHost) {
    PlanInputs in;
    in.addresses = {"192.0.2.10"};
    in.caa_issuers = {"letsencrypt.org"};
    auto plan = plan_site({"example.com", "www.example.com"}, in);
    ASSERT_EQ(plan.records.size(), 4u);
    EXPECT_EQ(plan.records[2].name, "www.example.com");
}

}  // namespace
}  // namespace moat::mail

namespace moat::mail {
namespace {

TEST(RecordDecoders, TxtMxCaaAddressTlsa) {
    EXPECT_EQ(txt_strings(std::string("\x07v=STSv1\x05; id=", 14)),
              (std::vector<std::string>{"v=STSv1", "; id="}));
    EXPECT_TRUE(txt_strings(std::string("\x09short", 6)).empty());  // length past the end
    MxRecord mx;
    ASSERT_TRUE(decode_mx(std::string("\x00\x0a\x02mx\x07"
                                      "Example\x03"
                                      "com\x00",
                                      18),
                          mx));
    EXPECT_EQ(mx.preference, 10);
    EXPECT_EQ(mx.host, "mx.example.com");
    ASSERT_TRUE(decode_mx(std::string("\x00\x00\x00", 3), mx));  // null MX (RFC 7505)
    EXPECT_EQ(mx.host, "");
    EXPECT_FALSE(decode_mx(std::string("\x00\x0a\x40zz", 5), mx));
    CaaRecord caa;
    ASSERT_TRUE(decode_caa(std::string("\x00\x05issueletsencrypt.org", 22), caa));
    EXPECT_EQ(caa.tag, "issue");
    EXPECT_EQ(caa.value, "letsencrypt.org");
    EXPECT_EQ(decode_address(std::string("\x7f\x00\x00\x01", 4)), "127.0.0.1");
    EXPECT_EQ(decode_address(std::string(15, '\0')), "");
    TlsaRecord t;
    ASSERT_TRUE(decode_tlsa(std::string("\x03\x01\x01"
                                        "abc",
                                        6),
                            t));
    EXPECT_EQ(t.usage, 3);
    EXPECT_EQ(t.data, "abc");
}

}  // namespace
}  // namespace moat::mail

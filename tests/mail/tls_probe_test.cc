// The EHLO reply reading of the STARTTLS probe (RFC 5321 §4.1.1.1, RFC 3207): an extension
// counts only as a keyword at the start of one of the reply's lines after the greeting.
#include "mail/tls_probe.h"

#include <gtest/gtest.h>

namespace moat::mail {
namespace {

TEST(EhloOffers, FindsTheKeywordOnItsOwnLineOnly) {
    EXPECT_TRUE(
        ehlo_offers("250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n", "STARTTLS"));
    EXPECT_TRUE(ehlo_offers("250-mx.example.com\r\n250-starttls\r\n250 8BITMIME\r\n", "STARTTLS"));
    EXPECT_TRUE(ehlo_offers("250-mx\n250-SIZE 10240000\n250 STARTTLS\n", "STARTTLS"));
    // The word in the greeting or in another extension's text is not an offer.
    EXPECT_FALSE(ehlo_offers("250-mx.example.com STARTTLS\r\n250 8BITMIME\r\n", "STARTTLS"));
    EXPECT_FALSE(
        ehlo_offers("250-mx.example.com\r\n250-X-NO STARTTLS here\r\n250 SIZE\r\n", "STARTTLS"));
    EXPECT_FALSE(ehlo_offers("250-mx.example.com\r\n250 STARTTLSX\r\n", "STARTTLS"));
    EXPECT_FALSE(ehlo_offers("250 mx.example.com says STARTTLS\r\n", "STARTTLS"));
    EXPECT_FALSE(ehlo_offers("", "STARTTLS"));
    EXPECT_FALSE(ehlo_offers("250-mx\r\n25", "STARTTLS"));
}

}  // namespace
}  // namespace moat::mail

#include "s3/internal/text.h"

#include <gtest/gtest.h>

namespace moat::s3::internal {
namespace {

TEST(Text, PercentDecoding) {
    EXPECT_EQ(percent_decode("a%20b%2Fc+d"), "a b/c+d");
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_EQ(percent_decode("%e2%82%AC"), "\xE2\x82\xAC");
    EXPECT_FALSE(percent_decode("%"));
    EXPECT_FALSE(percent_decode("%4"));
    EXPECT_FALSE(percent_decode("%zz"));
    EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
}

TEST(Text, UriEncodingForListings) {
    EXPECT_EQ(uri_encode("a b+c/d~e_f.g-h", true), "a%20b%2Bc/d~e_f.g-h");
    EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
    EXPECT_EQ(uri_encode("\x01\xE2\x82\xAC", true), "%01%E2%82%AC");
}

TEST(Text, QueryParsing) {
    auto q = parse_query("uploads&prefix=a%2Fb&x=&max-keys=10&&y=1+2");
    ASSERT_TRUE(q);
    ASSERT_EQ(q->size(), 5u);
    EXPECT_EQ((*q)[0], std::make_pair(std::string("uploads"), std::string()));
    EXPECT_EQ((*q)[1].second, "a/b");
    EXPECT_EQ((*q)[2].second, "");
    EXPECT_EQ((*q)[4].second, "1 2");
    EXPECT_FALSE(parse_query("a=%G0"));
}

TEST(Text, Dates) {
    auto t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
    ASSERT_TRUE(t);
    EXPECT_EQ(http_date(*t), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(iso8601_ms(*t + std::chrono::milliseconds(12)), "1994-11-06T08:49:37.012Z");
    EXPECT_FALSE(parse_http_date("06 Nov 1994"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT trailing"));
}

TEST(Text, Hex) {
    EXPECT_EQ(hex_encode("a/\xFF"), "612fff");
    EXPECT_EQ(hex_decode("612fff"), "a/\xFF");
    EXPECT_FALSE(hex_decode("abc"));
    EXPECT_FALSE(hex_decode("zz"));
}

}  // namespace
}  // namespace moat::s3::internal

#include "content/http_date.h"

#include <gtest/gtest.h>

namespace moat::content {
namespace {

constexpr std::time_t kExample = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 §5.6.7)

TEST(HttpDate, FormatsImfFixdate) {
    EXPECT_EQ(format_http_date(kExample), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    EXPECT_EQ(format_http_date(4102444799), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(HttpDate, ParsesAllThreeForms) {
    struct Case {
        std::string_view in;
        std::optional<std::time_t> want;
    };
    const Case cases[] = {
        {"Sun, 06 Nov 1994 08:49:37 GMT", kExample},
        {"Sunday, 06-Nov-94 08:49:37 GMT", kExample},
        {"Sun Nov  6 08:49:37 1994", kExample},
        {"Sun Nov 16 08:49:37 1994", kExample + 10 * 86400},
        {"  Sun, 06 Nov 1994 08:49:37 GMT ", kExample},
        {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
        {"Tue, 29 Feb 2000 00:00:00 GMT", 951782400},
        {"Thursday, 01-Jan-70 00:00:00 GMT", 0},
        {"Monday, 01-Jan-01 00:00:00 GMT", 978307200},  // two-digit year 01 -> 2001
        // Malformed.
        {"", std::nullopt},
        {"garbage", std::nullopt},
        {"Sun, 06 Nov 1994 08:49:37 UTC", std::nullopt},
        {"Sun, 6 Nov 1994 08:49:37 GMT", std::nullopt},
        {"Sun, 06 nov 1994 08:49:37 GMT", std::nullopt},
        {"Sun, 06 Nov 1994 08:49:37 GMTx", std::nullopt},
        {"Sun, 06 Nov 1994 24:00:00 GMT", std::nullopt},
        {"Sun, 06 Nov 1994 08:60:00 GMT", std::nullopt},
        {"Sun, 31 Feb 1994 08:49:37 GMT", std::nullopt},
        {"Sun, 00 Nov 1994 08:49:37 GMT", std::nullopt},
        {"Sun, 06 Nov 94 08:49:37 GMT", std::nullopt},
        {"Sun, 06-Nov-94 08:49:37 GMT", std::nullopt},
        {"Sun Nov 6 08:49:37 1994", std::nullopt},
        {"Sun, 06 Nov 1994 8:49:37 GMT", std::nullopt},
    };
    for (const auto& c : cases) EXPECT_EQ(parse_http_date(c.in), c.want) << c.in;
}

TEST(HttpDate, RoundTrips) {
    for (std::time_t t : {std::time_t{0}, kExample, std::time_t{1700000000},
                          std::time_t{2147483647}, std::time_t{4102444799}})
        EXPECT_EQ(parse_http_date(format_http_date(t)), t);
}

}  // namespace
}  // namespace moat::content

#include "config/values.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace moat::config {
namespace {

using std::chrono::milliseconds;

struct DurationCase {
    std::string text;
    std::optional<std::int64_t> ms;  // nullopt: must be refused
};

TEST(ParseDuration, AcceptsOneNumberAndOneUnit) {
    const DurationCase cases[] = {
        {"0ms", 0},
        {"500ms", 500},
        {"10s", 10'000},
        {"2m", 120'000},
        {"1h", 3'600'000},
        {"7d", 604'800'000},
        {"3650d", 3650LL * 86'400'000},
        {"", std::nullopt},
        {"10", std::nullopt},  // a unit is required
        {"s", std::nullopt},   // a number is required
        {"10x", std::nullopt},
        {"1.5s", std::nullopt},  // whole numbers only
        {"-1s", std::nullopt},
        {" 1s", std::nullopt},
        {"1s ", std::nullopt},
        {"1h30m", std::nullopt},                  // one unit only
        {"10S", std::nullopt},                    // units are lower-case
        {"3651d", std::nullopt},                  // beyond the cap
        {"99999999999999999999s", std::nullopt},  // would overflow
    };
    for (const auto& c : cases) {
        auto got = parse_duration(c.text);
        if (c.ms) {
            ASSERT_TRUE(got) << c.text << ": " << got.error().detail;
            EXPECT_EQ(got->count(), *c.ms) << c.text;
        } else {
            EXPECT_FALSE(got) << c.text;
        }
    }
}

TEST(ParseDuration, ExplainsTheSyntax) {
    auto got = parse_duration("10x");
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(got.error().detail,
              "expected a whole number and a unit (ms, s, m, h, d), like \"10s\"");
}

struct ListenCase {
    std::string text;
    bool ok;
    std::string address;
    bool ipv6;
    int port;
    std::string error;
};

TEST(ParseListen, AcceptsIpv4AndBracketedIpv6) {
    const ListenCase cases[] = {
        {"0.0.0.0:443", true, "0.0.0.0", false, 443, ""},
        {"127.0.0.1:1", true, "127.0.0.1", false, 1, ""},
        {"[::]:443", true, "::", true, 443, ""},
        {"[::1]:65535", true, "::1", true, 65535, ""},
        {"[2001:db8::1]:8443", true, "2001:db8::1", true, 8443, ""},
        {"0.0.0.0:0", false, "", false, 0, "port must be a number from 1 to 65535"},
        {"0.0.0.0:65536", false, "", false, 0, "port must be a number from 1 to 65535"},
        {"0.0.0.0:", false, "", false, 0, "port must be a number from 1 to 65535"},
        {"0.0.0.0:44a", false, "", false, 0, "port must be a number from 1 to 65535"},
        {"0.0.0.0:+443", false, "", false, 0, "port must be a number from 1 to 65535"},
        {"0.0.0.0", false, "", false, 0, "expected \"address:port\""},
        {"::1:443", false, "", false, 0, "an IPv6 address needs brackets, like \"[::]:443\""},
        {"[::1:443", false, "", false, 0, "missing ']' after the IPv6 address"},
        {"[::1]443", false, "", false, 0, "expected \":port\" after \"[address]\""},
        {"[::1]", false, "", false, 0, "expected \":port\" after \"[address]\""},
        {"[1.2.3.4]:443", false, "", false, 0, "not an IPv6 address"},
        {"localhost:443", false, "", false, 0, "not an IPv4 address (names are not allowed)"},
        {"256.0.0.1:443", false, "", false, 0, "not an IPv4 address (names are not allowed)"},
        {std::string("1.2.3.4\0:443", 12), false, "", false, 0,
         "not an IPv4 address (names are not allowed)"},
    };
    for (const auto& c : cases) {
        auto got = parse_listen(c.text);
        if (c.ok) {
            ASSERT_TRUE(got) << c.text << ": " << got.error().detail;
            EXPECT_EQ(got->address, c.address) << c.text;
            EXPECT_EQ(got->ipv6, c.ipv6) << c.text;
            EXPECT_EQ(got->port, c.port) << c.text;
        } else {
            ASSERT_FALSE(got) << c.text;
            EXPECT_EQ(got.error().detail, c.error) << c.text;
        }
    }
}

TEST(ParseListen, KnowsLoopback) {
    EXPECT_TRUE(parse_listen("127.0.0.1:9100")->is_loopback());
    EXPECT_TRUE(parse_listen("127.8.0.1:9100")->is_loopback());
    EXPECT_TRUE(parse_listen("[::1]:9100")->is_loopback());
    EXPECT_FALSE(parse_listen("0.0.0.0:9100")->is_loopback());
    EXPECT_FALSE(parse_listen("[::]:9100")->is_loopback());
    EXPECT_FALSE(parse_listen("10.0.0.1:9100")->is_loopback());
}

TEST(NormalizeHost, LowerCasesValidNamesAndRefusesOthers) {
    const std::pair<std::string, std::string> good[] = {
        {"example.com", "example.com"},
        {"WWW.Example.COM", "www.example.com"},
        {"localhost", "localhost"},
        {"a-b.c0.example", "a-b.c0.example"},
        {"127.0.0.1", "127.0.0.1"},
        {"::1", "[::1]"},  // IPv6 in brackets, as Host headers carry it
        {"[::1]", "[::1]"},
        {"[0:0::1]", "[::1]"},
        {std::string(63, 'a') + ".com", std::string(63, 'a') + ".com"},
    };
    for (const auto& [in, out] : good) {
        auto got = normalize_host(in);
        ASSERT_TRUE(got) << in << ": " << got.error().detail;
        EXPECT_EQ(*got, out);
    }
    const std::string bad[] = {
        "",
        "example",         // one label
        "example.com.",    // trailing dot
        "-a.example.com",  // label starts with '-'
        "a-.example.com",  // label ends with '-'
        "a..example.com",  // empty label
        "bad_host.com",    // '_'
        "*.example.com",   // no wildcards
        "[::1",            // unbalanced bracket
        "[example.com]",   // brackets only around IPv6
        "1.2.3.999",       // numeric last label
        std::string(64, 'a') + ".com",
        std::string(250, 'a').replace(60, 1, ".").replace(120, 1, ".").replace(180, 1, ".") +
            ".com",  // 254 characters
    };
    for (const auto& in : bad) EXPECT_FALSE(normalize_host(in)) << in;
}

TEST(IsHttpToken, FollowsRfc9110) {
    EXPECT_TRUE(is_http_token("X-Robots-Tag"));
    EXPECT_TRUE(is_http_token("a!#$%&'*+-.^_`|~9"));
    EXPECT_FALSE(is_http_token(""));
    EXPECT_FALSE(is_http_token("X Robots"));
    EXPECT_FALSE(is_http_token("X:Y"));
    EXPECT_FALSE(is_http_token(std::string("X\0Y", 3)));
}

}  // namespace
}  // namespace moat::config

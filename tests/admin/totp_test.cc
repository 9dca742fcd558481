#include "admin/totp.h"

#include <gtest/gtest.h>

#include "admin/internal/hotp.h"

namespace moat::admin {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

TEST(Hotp, Rfc4226AppendixDVectors) {
    const std::string key = "12345678901234567890";
    const char* want[] = {"755224", "287082", "359152", "969429", "338314",
                          "254676", "287922", "162583", "399871", "520489"};
    for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(internal::hotp(key, i, 6), want[i]) << i;
}

TEST(Totp, Rfc6238AppendixBSha1Vectors) {
    // RFC 6238 Appendix B, SHA1 rows: T = unix time / 30, 8 digits.
    const std::string key = "12345678901234567890";
    struct Row {
        std::int64_t time;
        const char* code;
    } rows[] = {{59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
                {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}};
    for (const auto& r : rows) {
        std::int64_t step = r.time / 30;
        // system_clock counts nanoseconds in 64 bits: year 2603 does not fit, so the last row
        // checks the counter only.
        if (r.time < 9'000'000'000)
            EXPECT_EQ(totp_step(system_clock::time_point(seconds(r.time))), step);
        EXPECT_EQ(internal::hotp(key, static_cast<std::uint64_t>(step), 8), r.code) << r.time;
    }
}

TEST(Totp, SixDigitCodeIsTheLastSixOfTheRfcVector) {
    // The same truncated value mod 10^6: the 8-digit vector's last six digits.
    std::string secret = base32_encode("12345678901234567890");
    auto c = totp_code(secret, 1111111109 / 30);
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, "081804");
}

TEST(Totp, MatchAcceptsOneStepEitherSideOnly) {
    std::string secret = new_totp_secret();
    auto now = system_clock::time_point(seconds(1'800'000'000));
    std::int64_t step = totp_step(now);
    for (std::int64_t d : {-1, 0, 1}) {
        auto m = totp_match(secret, *totp_code(secret, step + d), now);
        ASSERT_TRUE(m) << d;
        EXPECT_EQ(*m, step + d);
    }
    EXPECT_FALSE(totp_match(secret, *totp_code(secret, step - 2), now));
    EXPECT_FALSE(totp_match(secret, *totp_code(secret, step + 2), now));
    EXPECT_FALSE(totp_match(secret, "12345", now));
}

TEST(Totp, SecretsAre160BitsOfBase32) {
    std::string a = new_totp_secret(), b = new_totp_secret();
    EXPECT_EQ(a.size(), 32u);  // 20 bytes = 160 bits = 32 base32 characters
    EXPECT_NE(a, b);
    auto raw = base32_decode(a);
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->size(), 20u);
}

TEST(Base32, Rfc4648Section10Vectors) {
    struct Row {
        const char* plain;
        const char* padded;
    } rows[] = {{"", ""},
                {"f", "MY======"},
                {"fo", "MZXQ===="},
                {"foo", "MZXW6==="},
                {"foob", "MZXW6YQ="},
                {"fooba", "MZXW6YTB"},
                {"foobar", "MZXW6YTBOI======"}};
    for (const auto& r : rows) {
        std::string unpadded(r.padded);
        unpadded.erase(unpadded.find_last_not_of('=') + 1);
        EXPECT_EQ(base32_encode(r.plain), unpadded) << r.plain;
        auto d1 = base32_decode(r.padded);
        auto d2 = base32_decode(unpadded);
        ASSERT_TRUE(d1 && d2) << r.padded;
        EXPECT_EQ(*d1, r.plain);
        EXPECT_EQ(*d2, r.plain);
    }
}

TEST(Base32, DecodeIsCaseInsensitiveAndRejectsJunk) {
    auto d = base32_decode("mzxw6ytboi");
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, "foobar");
    EXPECT_FALSE(base32_decode("MZXW1"));  // '1' is not in the alphabet
    EXPECT_FALSE(base32_decode("M"));      // one character cannot end a quantum
    EXPECT_FALSE(base32_decode("MZX"));    // nor three
}

TEST(Otpauth, UriNamesIssuerAccountAndParameters) {
    EXPECT_EQ(otpauth_uri("moat", "alice@example.com", "JBSWY3DPEHPK3PXP"),
              "otpauth://totp/moat:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=moat"
              "&algorithm=SHA1&digits=6&period=30");
    EXPECT_EQ(otpauth_uri("my co", "bob", "AA"),
              "otpauth://totp/my%20co:bob?secret=AA&issuer=my%20co&algorithm=SHA1&digits=6"
              "&period=30");
}

// Splits UTF-8 text into lines of code points.
std::vector<std::vector<std::string>> cells(const std::string& text) {
    std::vector<std::vector<std::string>> lines(1);
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '\n') {
            lines.emplace_back();
            ++i;
            continue;
        }
        std::size_t n = (static_cast<unsigned char>(text[i]) & 0x80) == 0 ? 1 : 3;
        lines.back().push_back(text.substr(i, n));
        i += n;
    }
    if (lines.back().empty()) lines.pop_back();
    return lines;
}

TEST(Qr, SquareWithQuietZoneAndDeterministic) {
    std::string uri = otpauth_uri("moat", "alice", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
    auto a = qr_terminal(uri);
    auto b = qr_terminal(uri);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, *b);
    auto lines = cells(*a);
    ASSERT_FALSE(lines.empty());
    std::size_t width = lines[0].size();
    // Versions 1-40 are 21..177 modules wide (4v + 17), plus 2 quiet modules on each side.
    ASSERT_GE(width, 25u);
    EXPECT_EQ((width - 4 - 17) % 4, 0u);
    EXPECT_EQ(lines.size(), (width + 1) / 2);  // two module rows per line
    for (const auto& l : lines) {
        ASSERT_EQ(l.size(), width);
        for (const auto& c : l) EXPECT_TRUE(c == "█" || c == "▀" || c == "▄" || c == " ") << c;
        // Quiet zone: the two columns at each side are light in both halves.
        EXPECT_EQ(l[0], l.back());
    }
    for (const auto& c : lines[0]) EXPECT_EQ(c, "█");  // module rows 0 and 1: quiet zone
    // Line 1 shows module rows 2 and 3, the top of the top-left finder pattern (ISO 18004
    // §6.3.3): its outer ring is dark (x=2 and x=8 in both rows, x=3 only in row 2), the
    // separator at x=9 is light; dark modules are the terminal's background (spaces).
    EXPECT_EQ(lines[1][1], "█");
    EXPECT_EQ(lines[1][2], " ");
    EXPECT_EQ(lines[1][3], "▄");
    EXPECT_EQ(lines[1][8], " ");
    EXPECT_EQ(lines[1][9], "█");
}

TEST(Qr, DifferentTextDifferentCode) {
    auto a = qr_terminal("otpauth://totp/moat:a?secret=AAAA");
    auto b = qr_terminal("otpauth://totp/moat:b?secret=AAAA");
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace moat::admin

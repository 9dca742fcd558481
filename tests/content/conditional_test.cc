#include "content/conditional.h"

#include <gtest/gtest.h>

namespace moat::content {
namespace {

constexpr std::string_view kTag = "\"abc\"";
constexpr std::time_t kMod = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr std::string_view kModDate = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr std::string_view kEarlier = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr std::string_view kLater = "Sun, 06 Nov 1994 08:49:38 GMT";

constexpr auto kGo = Precondition::kProceed;
constexpr auto k304 = Precondition::kNotModified;
constexpr auto k412 = Precondition::kFailed;

struct Case {
    const char* name;
    Preconditions p;
    Precondition want;
};

TEST(EvaluatePreconditions, Rfc9110Order) {
    const Case cases[] = {
        {"none", {}, kGo},
        // If-Match: strong comparison.
        {"im match", {.if_match = "\"abc\""}, kGo},
        {"im star", {.if_match = "*"}, kGo},
        {"im list", {.if_match = "\"x\", \"abc\""}, kGo},
        {"im no match", {.if_match = "\"x\""}, k412},
        {"im weak never matches", {.if_match = "W/\"abc\""}, k412},
        {"im malformed", {.if_match = "abc"}, k412},
        {"im comma in tag", {.if_match = "\"a,b\", \"abc\""}, kGo},
        // If-Unmodified-Since, only without If-Match.
        {"ius same", {.if_unmodified_since = kModDate}, kGo},
        {"ius later", {.if_unmodified_since = kLater}, kGo},
        {"ius earlier", {.if_unmodified_since = kEarlier}, k412},
        {"ius invalid ignored", {.if_unmodified_since = "yesterday"}, kGo},
        {"im wins over ius", {.if_match = "\"abc\"", .if_unmodified_since = kEarlier}, kGo},
        // If-None-Match: weak comparison.
        {"inm match", {.if_none_match = "\"abc\""}, k304},
        {"inm weak match", {.if_none_match = "W/\"abc\""}, k304},
        {"inm star", {.if_none_match = "*"}, k304},
        {"inm list", {.if_none_match = "\"x\" , W/\"y\",,\"abc\""}, k304},
        {"inm no match", {.if_none_match = "\"x\", \"y\""}, kGo},
        {"inm unquoted", {.if_none_match = "abc"}, kGo},
        // If-Modified-Since, only without If-None-Match.
        {"ims same", {.if_modified_since = kModDate}, k304},
        {"ims later", {.if_modified_since = kLater}, k304},
        {"ims earlier", {.if_modified_since = kEarlier}, kGo},
        {"ims invalid ignored", {.if_modified_since = "soon"}, kGo},
        {"inm mismatch beats ims", {.if_none_match = "\"x\"", .if_modified_since = kLater}, kGo},
        {"inm match with old ims",
         {.if_none_match = "\"abc\"", .if_modified_since = kEarlier},
         k304},
        // 412 conditions are evaluated first.
        {"im fail beats inm", {.if_match = "\"x\"", .if_none_match = "\"abc\""}, k412},
        {"ius fail beats ims",
         {.if_modified_since = kLater, .if_unmodified_since = kEarlier},
         k412},
    };
    for (const auto& c : cases) EXPECT_EQ(evaluate(c.p, kTag, kMod), c.want) << c.name;
}

TEST(EvaluatePreconditions, EmptyEtagWhileHashing) {
    // A large file whose hash is still being computed has no ETag yet.
    EXPECT_EQ(evaluate({.if_none_match = "\"abc\""}, "", kMod), kGo);
    EXPECT_EQ(evaluate({.if_none_match = "*"}, "", kMod), k304);
    EXPECT_EQ(evaluate({.if_match = "\"abc\""}, "", kMod), k412);
    EXPECT_EQ(evaluate({.if_match = "*"}, "", kMod), kGo);
    EXPECT_EQ(evaluate({.if_modified_since = kModDate}, "", kMod), k304);
}

TEST(IfRange, StrongEtagOrExactDate) {
    struct RCase {
        std::string_view if_range;
        bool want;
    };
    const RCase cases[] = {
        {"", true},
        {"\"abc\"", true},
        {" \"abc\" ", true},
        {"\"abd\"", false},
        {"W/\"abc\"", false},
        {"\"abc\", \"x\"", false},
        {"\"abc", false},
        {kModDate, true},
        {kEarlier, false},
        {kLater, false},
        {"Sunday, 06-Nov-94 08:49:37 GMT", true},
        {"not a date", false},
    };
    for (const auto& c : cases)
        EXPECT_EQ(if_range_allows(c.if_range, kTag, kMod), c.want) << c.if_range;
    EXPECT_FALSE(if_range_allows("\"abc\"", "W/\"abc\"", kMod));  // our tag weak: no match
    EXPECT_FALSE(if_range_allows("\"abc\"", "", kMod));
}

}  // namespace
}  // namespace moat::content

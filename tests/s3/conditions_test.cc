#include "s3/conditions.h"

#include <gtest/gtest.h>

#include "s3/internal/text.h"

namespace moat::s3 {
namespace {

using std::chrono::system_clock;

system_clock::time_point at(std::string_view http_date) {
    return *internal::parse_http_date(http_date);
}

TEST(Conditions, FollowRfc9110Order) {
    auto lm = at("Sun, 06 Nov 1994 08:49:37 GMT") + std::chrono::milliseconds(400);
    const char* etag = "abc";
    EXPECT_EQ(evaluate_conditions({}, etag, lm), Code::kNone);
    EXPECT_EQ(evaluate_conditions({"\"abc\"", {}, {}, {}}, etag, lm), Code::kNone);
    EXPECT_EQ(evaluate_conditions({"\"x\", \"abc\"", {}, {}, {}}, etag, lm), Code::kNone);
    EXPECT_EQ(evaluate_conditions({"*", {}, {}, {}}, etag, lm), Code::kNone);
    EXPECT_EQ(evaluate_conditions({"\"x\"", {}, {}, {}}, etag, lm), Code::kPreconditionFailed);
    EXPECT_EQ(evaluate_conditions({{}, "\"abc\"", {}, {}}, etag, lm), Code::kNotModified);
    EXPECT_EQ(evaluate_conditions({{}, "W/\"abc\"", {}, {}}, etag, lm), Code::kNotModified);
    EXPECT_EQ(evaluate_conditions({{}, "\"x\"", {}, {}}, etag, lm), Code::kNone);
    // Dates compare at one-second resolution (Last-Modified has no more).
    EXPECT_EQ(evaluate_conditions({{}, {}, "Sun, 06 Nov 1994 08:49:37 GMT", {}}, etag, lm),
              Code::kNotModified);
    EXPECT_EQ(evaluate_conditions({{}, {}, "Sun, 06 Nov 1994 08:49:36 GMT", {}}, etag, lm),
              Code::kNone);
    EXPECT_EQ(evaluate_conditions({{}, {}, {}, "Sun, 06 Nov 1994 08:49:36 GMT"}, etag, lm),
              Code::kPreconditionFailed);
    EXPECT_EQ(evaluate_conditions({{}, {}, {}, "Sun, 06 Nov 1994 08:49:37 GMT"}, etag, lm),
              Code::kNone);
    // If-Match true wins over a failing If-Unmodified-Since; If-None-Match over IMS.
    EXPECT_EQ(evaluate_conditions({"\"abc\"", {}, {}, "Sun, 06 Nov 1994 08:49:36 GMT"}, etag, lm),
              Code::kNone);
    EXPECT_EQ(evaluate_conditions({{}, "\"x\"", "Sun, 06 Nov 1994 08:49:37 GMT", {}}, etag, lm),
              Code::kNone);
    // A date that does not parse is ignored.
    EXPECT_EQ(evaluate_conditions({{}, {}, "yesterday", {}}, etag, lm), Code::kNone);
    EXPECT_EQ(evaluate_conditions({{}, {}, "Sunday, 06-Nov-94 08:49:37 GMT", {}}, etag, lm),
              Code::kNotModified);
    EXPECT_EQ(evaluate_conditions({{}, {}, "Sun Nov  6 08:49:37 1994", {}}, etag, lm),
              Code::kNotModified);
}

TEST(Range, ParsesSingleRanges) {
    auto r = parse_range("bytes=0-9", 100);
    EXPECT_EQ(r.kind, RangeSpec::kPart);
    EXPECT_EQ(r.first, 0u);
    EXPECT_EQ(r.length, 10u);
    r = parse_range("bytes=90-", 100);
    EXPECT_EQ(r.first, 90u);
    EXPECT_EQ(r.length, 10u);
    r = parse_range("bytes=-10", 100);
    EXPECT_EQ(r.first, 90u);
    EXPECT_EQ(r.length, 10u);
    r = parse_range("bytes=-1000", 100);
    EXPECT_EQ(r.first, 0u);
    EXPECT_EQ(r.length, 100u);
    r = parse_range("bytes=50-1000", 100);
    EXPECT_EQ(r.first, 50u);
    EXPECT_EQ(r.length, 50u);
}

TEST(Range, IgnoresMalformedAndRefusesUnsatisfiable) {
    for (const char* h :
         {"", "bytes=", "bytes=a-b", "items=0-1", "bytes=5-1", "bytes=0-1,3-4", "bytes=--1"}) {
        auto r = parse_range(h, 100);
        EXPECT_EQ(r.kind, RangeSpec::kWhole) << h;
        EXPECT_EQ(r.length, 100u) << h;
    }
    EXPECT_EQ(parse_range("bytes=100-", 100).kind, RangeSpec::kUnsatisfiable);
    EXPECT_EQ(parse_range("bytes=200-300", 100).kind, RangeSpec::kUnsatisfiable);
    EXPECT_EQ(parse_range("bytes=-0", 100).kind, RangeSpec::kUnsatisfiable);
    EXPECT_EQ(parse_range("bytes=0-", 0).kind, RangeSpec::kUnsatisfiable);
}

}  // namespace
}  // namespace moat::s3

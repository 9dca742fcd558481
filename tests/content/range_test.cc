#include "content/range.h"

#include <gtest/gtest.h>

namespace moat::content {
namespace {

constexpr auto kNone = ByteRange::kNone;
constexpr auto kOk = ByteRange::kSatisfiable;
constexpr auto kBad = ByteRange::kUnsatisfiable;

struct Case {
    std::string_view header;
    std::uint64_t size;
    ByteRange::Kind kind;
    std::uint64_t first = 0, last = 0;
};

TEST(ParseRange, Table) {
    const Case cases[] = {
        // int-range
        {"bytes=0-499", 10000, kOk, 0, 499},
        {"bytes=500-999", 10000, kOk, 500, 999},
        {"bytes=0-0", 1, kOk, 0, 0},
        {"bytes=9999-9999", 10000, kOk, 9999, 9999},
        // open-ended and clamped
        {"bytes=9500-", 10000, kOk, 9500, 9999},
        {"bytes=0-", 10000, kOk, 0, 9999},
        {"bytes=100-99999999", 10000, kOk, 100, 9999},
        {"bytes=0-99999999999999999999999", 10, kOk, 0, 9},  // overflow saturates
        // suffix
        {"bytes=-500", 10000, kOk, 9500, 9999},
        {"bytes=-1", 10000, kOk, 9999, 9999},
        {"bytes=-20000", 10000, kOk, 0, 9999},
        {"bytes=-0", 10000, kBad},
        // unsatisfiable
        {"bytes=10000-", 10000, kBad},
        {"bytes=10000-20000", 10000, kBad},
        {"bytes=99999999999999999999999-", 10, kBad},
        {"bytes=0-0", 0, kBad},
        {"bytes=0-", 0, kBad},
        {"bytes=-0", 0, kBad},
        {"bytes=-5", 0, kNone},  // §14.1.1 calls it satisfiable, yet there is nothing to send
        // unit and whitespace
        {"BYTES=0-1", 10, kOk, 0, 1},
        {"Bytes=0-1", 10, kOk, 0, 1},
        {"  bytes=0-1  ", 10, kOk, 0, 1},
        {"bytes=0-1, ", 10, kOk, 0, 1},  // empty list elements are allowed
        {"bytes=, 0-1", 10, kOk, 0, 1},
        {"bytes= 0-1", 10, kOk, 0, 1},  // OWS in the list
        {"bytes =0-1", 10, kNone},
        {"bytes=0 -1", 10, kNone},
        {"bytes=0- 1", 10, kNone},
        // several ranges: whole representation
        {"bytes=0-1,2-3", 10, kNone},
        {"bytes=0-1, 5-", 10, kNone},
        {"bytes=-1,-2", 10, kNone},
        {"bytes=50-60,0-1", 10, kNone},
        // syntax errors and other units
        {"", 10, kNone},
        {"bytes", 10, kNone},
        {"bytes=", 10, kNone},
        {"bytes=,", 10, kNone},
        {"bytes=-", 10, kNone},
        {"bytes=a-b", 10, kNone},
        {"bytes=1", 10, kNone},
        {"bytes=5-2", 10, kNone},
        {"bytes=+1-2", 10, kNone},
        {"bytes=1-2-3", 10, kNone},
        {"bytes=0x1-2", 10, kNone},
        {"items=0-1", 10, kNone},
        {"bytesx=0-1", 10, kNone},
    };
    for (const auto& c : cases) {
        ByteRange r = parse_range(c.header, c.size);
        EXPECT_EQ(r.kind, c.kind) << "'" << c.header << "' size " << c.size;
        if (c.kind == kOk && r.kind == kOk) {
            EXPECT_EQ(r.first, c.first) << c.header;
            EXPECT_EQ(r.last, c.last) << c.header;
        }
    }
}

}  // namespace
}  // namespace moat::content

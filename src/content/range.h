#pragma once
// Range requests (RFC 9110 §14). moat serves one range per response: a request for several
// ranges is answered with the whole representation (200), which §14.2 allows.

#include <cstdint>
#include <string_view>

namespace moat::content {

struct ByteRange {
    enum Kind { kNone, kSatisfiable, kUnsatisfiable } kind = kNone;
    std::uint64_t first = 0;  // inclusive
    std::uint64_t last = 0;   // inclusive
};

// Parses a Range header value against a representation of `size` bytes.
// kNone: no range, a syntax error, another unit, or several ranges (serve 200);
// kSatisfiable: send [first, last] with 206; kUnsatisfiable: 416 with "bytes */size".
ByteRange parse_range(std::string_view header, std::uint64_t size);

}  // namespace moat::content

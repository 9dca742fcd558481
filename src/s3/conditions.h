#pragma once
// Conditional requests (RFC 9110 §13) and byte ranges (RFC 9110 §14) as S3 applies them to
// GetObject / HeadObject, and to CopyObject's x-amz-copy-source-if-* headers. Pure; any thread.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "s3/errors.h"

namespace moat::s3 {

struct Conditions {
    std::string_view if_match;
    std::string_view if_none_match;
    std::string_view if_modified_since;
    std::string_view if_unmodified_since;
};

// kNone (go ahead), kPreconditionFailed (412) or kNotModified (304), evaluated in RFC 9110
// §13.2.2 order: If-Match, else If-Unmodified-Since; then If-None-Match, else
// If-Modified-Since. `etag` is unquoted. Unparsable dates are ignored (§13.1.3/§13.1.4).
Code evaluate_conditions(const Conditions& c, std::string_view etag,
                         std::chrono::system_clock::time_point last_modified);

struct RangeSpec {
    enum Kind { kWhole, kPart, kUnsatisfiable } kind = kWhole;
    std::uint64_t first = 0;
    std::uint64_t length = 0;
};

// A single "bytes=a-b" / "bytes=a-" / "bytes=-n" against an object of `size` bytes. A header
// that is absent, malformed or asks for several ranges is ignored (kWhole), as S3 does.
RangeSpec parse_range(std::string_view header, std::uint64_t size);

}  // namespace moat::s3

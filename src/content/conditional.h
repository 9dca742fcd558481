#pragma once
// Conditional requests (RFC 9110 §13): the precondition evaluation order of §13.2.2.

#include <ctime>
#include <string_view>

namespace moat::content {

struct Preconditions {
    std::string_view if_match;
    std::string_view if_none_match;
    std::string_view if_modified_since;
    std::string_view if_unmodified_since;
    std::string_view if_range;
};

enum class Precondition { kProceed, kNotModified, kFailed };  // 200/206, 304, 412

// etag is the strong entity tag of the selected representation, quoted ("\"abc\"");
// last_modified is its modification time. GET and HEAD only (moat serves nothing else).
Precondition evaluate(const Preconditions& p, std::string_view etag, std::time_t last_modified);

// §13.1.5: a Range is honoured only when If-Range is absent or matches (strong ETag
// comparison, or an HTTP-date equal to last_modified).
bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t last_modified);

}  // namespace moat::content

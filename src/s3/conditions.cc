#include "s3/conditions.h"

#include <charconv>

#include "core/text.h"
#include "s3/internal/text.h"

namespace moat::s3 {
namespace {

// RFC 9110 §13.1.1: a list of entity tags or "*"; S3 compares strongly, ignoring W/.
bool etag_listed(std::string_view header, std::string_view etag) {
    while (!header.empty()) {
        auto comma = header.find(',');
        std::string_view item = core::trim_ows(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        if (item == "*") return true;
        if (item.substr(0, 2) == "W/") item.remove_prefix(2);
        if (item.size() >= 2 && item.front() == '"' && item.back() == '"')
            item = item.substr(1, item.size() - 2);
        if (item == etag) return true;
    }
    return false;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Code evaluate_conditions(const Conditions& c, std::string_view etag,
                         std::chrono::system_clock::time_point last_modified) {
    auto lm = std::chrono::floor<std::chrono::seconds>(last_modified);
    if (!c.if_match.empty()) {
        if (!etag_listed(c.if_match, etag)) return Code::kPreconditionFailed;
    } else if (!c.if_unmodified_since.empty()) {
        auto t = internal::parse_http_date(c.if_unmodified_since);
        if (t && lm > *t) return Code::kPreconditionFailed;
    }
    if (!c.if_none_match.empty()) {
        if (etag_listed(c.if_none_match, etag)) return Code::kNotModified;
    } else if (!c.if_modified_since.empty()) {
        auto t = internal::parse_http_date(c.if_modified_since);
        if (t && lm <= *t) return Code::kNotModified;
    }
    return Code::kNone;
}

RangeSpec parse_range(std::string_view header, std::uint64_t size) {
    RangeSpec whole;
    whole.length = size;
    header = core::trim_ows(header);
    if (header.substr(0, 6) != "bytes=") return whole;
    std::string_view spec = core::trim_ows(header.substr(6));
    if (spec.find(',') != std::string_view::npos) return whole;
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) return whole;
    std::string_view a = core::trim_ows(spec.substr(0, dash)),
                     b = core::trim_ows(spec.substr(dash + 1));
    RangeSpec r;
    r.kind = RangeSpec::kPart;
    std::uint64_t first = 0, last = 0;
    if (a.empty()) {  // suffix: the last n bytes
        std::uint64_t n = 0;
        if (!parse_u64(b, n)) return whole;
        if (n == 0 || size == 0) return RangeSpec{RangeSpec::kUnsatisfiable, 0, 0};
        if (n > size) n = size;
        r.first = size - n;
        r.length = n;
        return r;
    }
    if (!parse_u64(a, first)) return whole;
    if (b.empty()) {
        last = size == 0 ? 0 : size - 1;
    } else {
        if (!parse_u64(b, last)) return whole;
        if (last < first) return whole;  // RFC 9110 §14.1.1: invalid, so ignored
        if (size > 0 && last >= size) last = size - 1;
    }
    if (first >= size) return RangeSpec{RangeSpec::kUnsatisfiable, 0, 0};
    r.first = first;
    r.length = last - first + 1;
    return r;
}

}  // namespace moat::s3

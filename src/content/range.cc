#include "content/range.h"

#include <limits>

#include "core/text.h"

namespace moat::content {
namespace {

// 1*DIGIT; a value too big for 64 bits saturates (it is beyond any file anyway).
bool parse_digits(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    std::uint64_t v = 0;
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        auto d = static_cast<std::uint64_t>(c - '0');
        v = (v > (kMax - d) / 10) ? kMax : v * 10 + d;
    }
    out = v;
    return true;
}

bool iequals_bytes(std::string_view s) {
    constexpr std::string_view kBytes = "bytes";
    if (s.size() != kBytes.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != kBytes[i]) return false;
    }
    return true;
}

}  // namespace

ByteRange parse_range(std::string_view header, std::uint64_t size) {
    ByteRange none;  // kNone
    header = core::trim_ows(header);
    // ranges-specifier = range-unit "=" range-set (RFC 9110 §14.1.1); units are
    // case-insensitive (§14.1), and no whitespace is allowed around "=".
    std::size_t eq = header.find('=');
    if (eq == std::string_view::npos || !iequals_bytes(header.substr(0, eq))) return none;
    std::string_view set = header.substr(eq + 1);

    // range-set = 1#range-spec. The list rule (§5.6.1) lets a recipient skip empty elements
    // and OWS around commas; inside a range-spec no whitespace is allowed.
    std::string_view spec;
    int count = 0;
    while (!set.empty()) {
        std::size_t comma = set.find(',');
        std::string_view elem = core::trim_ows(set.substr(0, comma));
        set = comma == std::string_view::npos ? std::string_view{} : set.substr(comma + 1);
        if (elem.empty()) continue;
        spec = elem;
        // Several ranges: answer 200 with the whole representation (§14.2 lets a server ignore
        // Range); this also shuts out the many-small-ranges amplification attack (§17.15).
        if (++count > 1) return none;
    }
    if (count == 0) return none;

    std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return none;
    std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);

    ByteRange r;
    if (a.empty()) {
        // suffix-range = "-" suffix-length: the last N bytes.
        std::uint64_t n = 0;
        if (!parse_digits(b, n)) return none;
        // §14.1.1: a suffix-range is satisfiable only with a non-zero suffix-length.
        if (n == 0) {
            r.kind = ByteRange::kUnsatisfiable;
            return r;
        }
        // §14.1.1 calls a non-zero suffix of a zero-length representation satisfiable, but
        // there is no byte to send and [first, last] cannot be empty: serve the (empty) whole
        // representation with 200, which §14.2 allows.
        if (size == 0) return none;
        r.kind = ByteRange::kSatisfiable;
        r.first = n >= size ? 0 : size - n;
        r.last = size - 1;
        return r;
    }

    std::uint64_t first = 0;
    if (!parse_digits(a, first)) return none;
    std::uint64_t last = std::numeric_limits<std::uint64_t>::max();
    if (!b.empty()) {
        if (!parse_digits(b, last)) return none;
        // §14.1.1: last-pos < first-pos makes the range-spec invalid: ignore the header.
        if (last < first) return none;
    }
    // §14.1.1: an int-range is satisfiable only when first-pos < length.
    if (first >= size) {
        r.kind = ByteRange::kUnsatisfiable;
        return r;
    }
    r.kind = ByteRange::kSatisfiable;
    r.first = first;
    r.last = last >= size ? size - 1 : last;  // a last-pos beyond the end is clamped
    return r;
}

}  // namespace moat::content

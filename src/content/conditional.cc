#include "content/conditional.h"

#include "content/http_date.h"
#include "core/text.h"

namespace moat::content {
namespace {

struct EntityTag {
    bool weak = false;
    std::string_view opaque;  // with its quotes
};

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3). Parses one tag at the front of
// s and advances s past it. Commas are legal inside the quotes, so lists cannot be split on ','.
bool take_tag(std::string_view& s, EntityTag& out) {
    EntityTag t;
    std::string_view rest = s;
    if (rest.size() >= 2 && rest[0] == 'W' && rest[1] == '/') {
        t.weak = true;
        rest.remove_prefix(2);
    }
    if (rest.empty() || rest[0] != '"') return false;
    std::size_t close = rest.find('"', 1);
    if (close == std::string_view::npos) return false;
    t.opaque = rest.substr(0, close + 1);
    s = rest.substr(close + 1);
    out = t;
    return true;
}

// Our own tag as handed in: normally strong and quoted; tolerate a W/ prefix.
EntityTag own_tag(std::string_view etag) {
    EntityTag t;
    std::string_view s = etag;
    if (!take_tag(s, t) || !core::trim_ows(s).empty()) return EntityTag{false, {}};
    return t;
}

// §8.8.3.2: strong comparison needs both tags strong and equal opaque-tags.
bool strong_match(const EntityTag& a, const EntityTag& b) {
    return !a.weak && !b.weak && !a.opaque.empty() && a.opaque == b.opaque;
}

// Weak comparison: opaque-tags equal, whatever the W/ flags.
bool weak_match(const EntityTag& a, const EntityTag& b) {
    return !a.opaque.empty() && a.opaque == b.opaque;
}

// Evaluates If-Match / If-None-Match: "*" or 1#entity-tag. Empty list elements and OWS around
// commas are allowed (§5.6.1); a malformed element ends the scan (nothing after it can be
// trusted to be delimited correctly), keeping what matched so far.
template <class Match>
bool list_matches(std::string_view field, std::string_view etag, bool exists, Match match) {
    field = core::trim_ows(field);
    if (field == "*") return exists;  // §13.1.1/§13.1.2: "*" matches any current representation
    EntityTag own = own_tag(etag);
    if (own.opaque.empty()) return false;
    std::string_view s = field;
    for (;;) {
        while (!s.empty() && (core::is_ows(s.front()) || s.front() == ',')) s.remove_prefix(1);
        if (s.empty()) return false;
        EntityTag t;
        if (!take_tag(s, t)) return false;
        if (match(t, own)) return true;
    }
}

}  // namespace

Precondition evaluate(const Preconditions& p, std::string_view etag, std::time_t last_modified) {
    // RFC 9110 §13.2.2, steps 1-4. The representation exists (moat evaluates preconditions only
    // for files it found), so "*" always matches.
    if (!p.if_match.empty()) {
        // Step 1: If-Match uses the strong comparison (§13.1.1).
        if (!list_matches(p.if_match, etag, true, strong_match)) return Precondition::kFailed;
    } else if (!p.if_unmodified_since.empty()) {
        // Step 2: only without If-Match; an invalid date is ignored (§13.1.4).
        if (auto d = parse_http_date(p.if_unmodified_since); d && last_modified > *d)
            return Precondition::kFailed;
    }
    if (!p.if_none_match.empty()) {
        // Step 3: weak comparison (§13.1.2); for GET/HEAD a match means 304.
        if (list_matches(p.if_none_match, etag, true, weak_match))
            return Precondition::kNotModified;
    } else if (!p.if_modified_since.empty()) {
        // Step 4: only without If-None-Match; an invalid date is ignored (§13.1.3).
        if (auto d = parse_http_date(p.if_modified_since); d && last_modified <= *d)
            return Precondition::kNotModified;
    }
    // Step 5 (If-Range) is if_range_allows(), applied by the caller to a Range request.
    return Precondition::kProceed;
}

bool if_range_allows(std::string_view if_range, std::string_view etag, std::time_t last_modified) {
    if_range = core::trim_ows(if_range);
    if (if_range.empty()) return true;
    if (if_range.front() == '"' || if_range.starts_with("W/")) {
        // §13.1.5: strong comparison; a weak tag (W/...) can never match.
        std::string_view s = if_range;
        EntityTag t;
        if (!take_tag(s, t) || !core::trim_ows(s).empty()) return false;
        return strong_match(t, own_tag(etag));
    }
    // §13.1.5: an HTTP-date matches only when it equals Last-Modified exactly; an unparsable
    // value is a failed condition, so the whole representation is sent.
    auto d = parse_http_date(if_range);
    return d && *d == last_modified;
}

}  // namespace moat::content

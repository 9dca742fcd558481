#pragma once
// Request paths -> safe relative paths below a site's root, and back to URL form for redirects.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::site {

// Longest decoded path accepted; PATH_MAX on Linux is 4096 including the root.
inline constexpr std::size_t kMaxPathBytes = 2048;

// Turns the still percent-encoded path of an origin-form request-target ("/a/b%20c.html") into
// the relative path the FileCache expects ("a/b c.html"). Percent-escapes are decoded exactly
// once ("%252e" becomes the literal "%2e"). The result has no leading '/', keeps a trailing '/'
// when the path had one (a folder was asked for: "/" -> "", "/a/" -> "a/"), and contains no
// empty, "." or ".." segment, no NUL, control character or backslash.
// Errors, and the status the caller answers with:
//   kInvalidArgument (400): not starting with '/', a malformed %-escape, NUL, control characters
//     or a backslash (raw or encoded), any "." or ".." segment (raw or %2e-encoded);
//   kNotFound (404): an encoded slash (%2F), an empty segment ("a//b"), a segment starting
//     with '.' (dotfiles), except a first segment ".well-known" (RFC 8615);
//   kTooLarge (414): longer than kMaxPathBytes.
// Why refuse dot-segments rather than resolve them (RFC 3986 §5.2.4): browsers and every
// conforming client remove them (even %2e-encoded ones, WHATWG URL) before sending, so only
// crafted requests carry them; refusing leaves no room for a resolver that differs from the
// one in a cache or proxy in front of us. Why 404 for %2F: no file name can hold a '/', so
// the resource cannot exist (Apache answers the same with AllowEncodedSlashes off), and
// decoding it into a separator would let one URL name two different paths.
Result<std::string> normalize_path(std::string_view raw_path);

// Percent-encodes a decoded path for a Location header: keeps RFC 3986 pchar and '/', encodes
// everything else (spaces, '%', '?', '#', non-ASCII bytes).
std::string encode_path(std::string_view decoded);

}  // namespace moat::site

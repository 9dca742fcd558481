#pragma once
// Small text helpers of the s3 part: percent-encoding, query strings, HTTP and ISO 8601 dates,
// hex. Pure functions; any thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace moat::s3::internal {

// %XX decoding; nullopt for a malformed escape. In a query, '+' also means a space (S3 decodes
// query strings as application/x-www-form-urlencoded).
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);

// RFC 3986 percent-encoding of everything but unreserved characters (and '/' when keep_slash):
// the form of S3's encoding-type=url listings, which botocore decodes with unquote_plus.
std::string uri_encode(std::string_view s, bool keep_slash);

using QueryParams = std::vector<std::pair<std::string, std::string>>;
// "a=1&b&c=" -> decoded pairs, in order. nullopt when an escape is malformed.
std::optional<QueryParams> parse_query(std::string_view q);

using SysTime = std::chrono::system_clock::time_point;
// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7 IMF-fixdate).
std::string http_date(SysTime t);
// IMF-fixdate, and the obsolete RFC 850 and asctime forms RFC 9110 says to accept.
std::optional<SysTime> parse_http_date(std::string_view s);
// "2009-10-12T17:50:30.000Z", the form of S3 listings.
std::string iso8601_ms(SysTime t);

std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view hex);

}  // namespace moat::s3::internal

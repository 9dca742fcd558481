#pragma once
// HTTP dates (RFC 9110 §5.6.7).

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace moat::content {

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::time_t t);

// Parses IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
std::optional<std::time_t> parse_http_date(std::string_view s);

}  // namespace moat::content

#pragma once
// The Date header value (IMF-fixdate, RFC 9110 §6.6.1), formatted at most once per second per
// thread, as nginx does, so that responses do not pay for strftime.

#include <string_view>

namespace moat::edge {

// Valid until this thread calls it again in a later second.
std::string_view http_date_now();

}  // namespace moat::edge

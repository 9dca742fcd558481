#pragma once
// HTTP/1.1 response heads (RFC 9112 §4): status line, Date, the response's fixed and extra
// fields, framing. Appends to a buffer the connection reuses, so no allocation in steady state.

#include <string>
#include <string_view>

#include "edge/handler.h"

namespace moat::edge::http1 {

// Appends the head of `res` for a request of HTTP version `version` (10 or 11).
// keep_alive false adds "Connection: close"; HTTP/1.0 with keep_alive adds
// "Connection: keep-alive".
void append_head(std::string& out, const Response& res, int version, bool keep_alive);

// A complete small response the edge makes itself (400, 414, 431, 505 ...), always closing.
void append_error(std::string& out, int status, std::string_view text);

}  // namespace moat::edge::http1

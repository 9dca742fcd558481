#pragma once
// Reason phrases for the status line of HTTP/1.1 responses (RFC 9112 §4), one table for every
// HTTP/1 writer of the edge (http1/response.cc, service/response_writer.cc). HTTP/2 sends none.

#include <string_view>

namespace moat::edge {

// The RFC 9110 §15 phrase for `status`, or `unknown` for a code not in the table (clients ignore
// the phrase, RFC 9112 §4, so each caller picks what an unlisted code gets).
std::string_view reason_phrase(int status, std::string_view unknown);

}  // namespace moat::edge

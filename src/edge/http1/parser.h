#pragma once
// The strict HTTP/1.1 request-head parser of the edge (RFC 9112 §2-§3, §5-§7; RFC 9110 §5, §7.2,
// §8.6). A pure function over the connection's read buffer: no allocation in steady state, no
// exceptions, no state kept between calls, safe to call from any thread on its own buffer.
//
// Anything ambiguous is refused rather than guessed (request smuggling lives in the gap between
// two lenient parsers): bare CR or LF, obs-fold, whitespace before ':', several Host fields,
// Content-Length together with Transfer-Encoding, conflicting Content-Length values.

#include <cstddef>

#include "edge/handler.h"

namespace moat::edge::http1 {

// Size limits of one request head; the edge fills them from EdgeSettings.
struct Limits {
    std::size_t max_header_bytes = 16 * 1024;  // whole head incl. request line: 431 beyond
    std::size_t max_target_bytes = 8 * 1024;   // request-target: 414 beyond
    std::size_t max_headers = 100;             // header fields: 431 beyond
};

enum class ParseStatus { kIncomplete, kComplete, kError };

struct ParseResult {
    ParseStatus status = ParseStatus::kIncomplete;
    // kComplete: bytes of the request head, including leading empty lines and the final CRLF.
    // The next pipelined request (or the body) starts there.
    std::size_t consumed = 0;
    int error_status = 0;           // kError: 400, 414, 431, 501 or 505
    const char* error_reason = "";  // kError: static text for logs, never null
    // kComplete: whether the connection may serve another request after this one.
    bool keep_alive = true;
    // kComplete: Content-Length > 0 or Transfer-Encoding present. moat serves no request bodies:
    // the connection answers and closes (keep_alive is false then) instead of framing the body.
    bool has_body = false;
};

// Parses the request head at the start of data[0, len).
//
// kIncomplete: more bytes are needed; call again from the start of the (grown) buffer. A prefix
// of a request never yields an answer that the whole request would not give: feeding byte by
// byte ends with the same result as parsing everything at once.
// kError: answer error_status and close. Errors are reported as soon as the bytes received prove
// them, including 414 and 431 while the head is still incomplete.
// kComplete: `out` holds the request; every string_view in it points into data[0, consumed), so
// `data` must outlive the use of `out`. Sets method, method_name, target (as sent: origin-form or
// absolute-form), path (never empty, starts with '/'), query, host (lower-case, without port;
// IPv6 literals keep their brackets; empty only for HTTP/1.0 without Host), version (10 or 11)
// and headers (names lower-case, values without surrounding whitespace, in received order). For
// absolute-form targets (RFC 9112 §3.2.2) host, path and query come from the target and the
// Host field is only validated. Other fields of `out` (secure, sni, ports ...) are not touched.
//
// The buffer is modified in place, idempotently: header names, the Host value and the host in an
// absolute-form target are lower-cased (also when the result is kIncomplete or kError).
// out.headers is cleared and refilled, reusing its capacity. Never reads data[len] or beyond.
ParseResult parse_request(char* data, std::size_t len, const Limits& limits, Request& out);

}  // namespace moat::edge::http1

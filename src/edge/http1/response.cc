#include "edge/http1/response.h"

#include <charconv>

#include "edge/date_cache.h"
#include "edge/reason_phrase.h"

namespace moat::edge::http1 {

namespace {

void append_number(std::string& out, std::uint64_t v) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, p);
}

// "HTTP/1.x <status> <reason>" and the Date field.
void append_status_line(std::string& out, int version, int status) {
    out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_number(out, static_cast<std::uint64_t>(status));
    out.push_back(' ');
    out.append(reason_phrase(status, "Unknown"));
    out.append("\r\nDate: ");
    out.append(http_date_now());
    out.append("\r\n");
}

}  // namespace

void append_head(std::string& out, const Response& res, int version, bool keep_alive) {
    append_status_line(out, version, res.status);
    if (res.fixed) out.append(res.fixed->http1);
    for (const auto& [name, value] : res.extra) {
        // extra names are lower-case like HTTP/2's; HTTP/1 field names are case-insensitive
        // (RFC 9110 §5.1), so they go out as they are.
        out.append(name).append(": ").append(value).append("\r\n");
    }
    if (!res.no_body) {
        out.append("Content-Length: ");
        append_number(out, res.body.length);
        out.append("\r\n");
    }
    if (!keep_alive)
        out.append("Connection: close\r\n");
    else if (version == 10)
        out.append("Connection: keep-alive\r\n");
    out.append("\r\n");
}

void append_error(std::string& out, int status, std::string_view text) {
    append_status_line(out, 11, status);
    // No site is known yet; these are safe for any origin.
    out.append(
        "Content-Type: text/plain; charset=utf-8\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
        "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
        "Cross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Resource-Policy: same-origin\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\nContent-Length: ");
    append_number(out, text.size() + 1);
    out.append("\r\n\r\n");
    out.append(text);
    out.push_back('\n');
}

}  // namespace moat::edge::http1

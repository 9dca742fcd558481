#include "edge/http1/response.h"

#include <charconv>

#include "edge/date_cache.h"

namespace moat::edge::http1 {

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 416:
            return "Range Not Satisfiable";
        case 421:
            return "Misdirected Request";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

namespace {

void append_number(std::string& out, std::uint64_t v) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, p);
}

}  // namespace

void append_head(std::string& out, const Response& res, int version, bool keep_alive) {
    out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_number(out, static_cast<std::uint64_t>(res.status));
    out.push_back(' ');
    out.append(reason_phrase(res.status));
    out.append("\r\nDate: ");
    out.append(http_date_now());
    out.append("\r\n");
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
    out.append("HTTP/1.1 ");
    append_number(out, static_cast<std::uint64_t>(status));
    out.push_back(' ');
    out.append(reason_phrase(status));
    out.append("\r\nDate: ");
    out.append(http_date_now());
    // No site is known yet; these are safe for any origin.
    out.append(
        "\r\nContent-Type: text/plain; charset=utf-8\r\n"
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

#include "edge/service/internal/response_writer.h"

#include <ctime>
#include <string>

namespace moat::edge::service_internal {
namespace {

// RFC 9110 §5.1: field-name = token.
bool valid_name(std::string_view n) {
    if (n.empty()) return false;
    for (unsigned char c : n) {
        if (c >= 'a' && c <= 'z') continue;
        if (c >= 'A' && c <= 'Z') continue;
        if (c >= '0' && c <= '9') continue;
        if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) ==
            std::string_view::npos)
            return false;
    }
    return true;
}

// RFC 9110 §5.5: no CR, LF or NUL in a value (response splitting).
bool valid_value(std::string_view v) {
    for (char c : v)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Fields the server owns: a handler's copy would contradict the framing.
bool server_owned(std::string_view n) {
    return ieq(n, "content-length") || ieq(n, "transfer-encoding") || ieq(n, "connection") ||
           ieq(n, "date") || ieq(n, "keep-alive");
}

}  // namespace

ResponseWriter::ResponseWriter(SocketIo& io, bool head_request, int http_version,
                               std::chrono::milliseconds io_timeout,
                               std::function<bool()> keep_alive)
    : io_(io),
      head_request_(head_request),
      http_version_(http_version),
      io_timeout_(io_timeout),
      keep_alive_fn_(std::move(keep_alive)) {}

const char* ResponseWriter::reason(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 204:
            return "No Content";
        case 206:
            return "Partial Content";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 411:
            return "Length Required";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 416:
            return "Range Not Satisfiable";
        case 417:
            return "Expectation Failed";
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
            return "";
    }
}

std::string ResponseWriter::http_date(std::chrono::system_clock::time_point t) {
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

Result<void> ResponseWriter::start(int status, const ServiceHeaders& headers,
                                   std::uint64_t content_length) {
    if (started_) return make_error(Errc::kInternal, "response already started");
    if (status < 200 || status > 599) return make_error(Errc::kInternal, "bad response status");
    for (const auto& [n, v] : headers)
        if (!valid_name(n) || !valid_value(v))
            return make_error(Errc::kInternal, "bad response header '" + n + "'");
    started_ = true;
    status_ = status;
    keep_alive_ = keep_alive_fn_ ? keep_alive_fn_() : false;
    // RFC 9110 §6.4.1: 204 and 304 carry no content; §8.6: no Content-Length on 204.
    const bool no_content = status == 204 || status == 304;
    to_write_ = (head_request_ || no_content) ? 0 : content_length;

    std::string h;
    h.reserve(256);
    h.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(reason(status));
    h.append("\r\n");
    for (const auto& [n, v] : headers) {
        if (server_owned(n)) continue;
        h.append(n).append(": ").append(v).append("\r\n");
    }
    h.append("Date: ").append(http_date(std::chrono::system_clock::now())).append("\r\n");
    if (status != 204 && !(status == 304 && content_length == 0))
        h.append("Content-Length: ").append(std::to_string(content_length)).append("\r\n");
    if (!keep_alive_)
        h.append("Connection: close\r\n");
    else if (http_version_ == 10)
        h.append("Connection: keep-alive\r\n");
    h.append("\r\n");
    auto w = io_.write_all(h, io_timeout_);
    if (!w) broken_ = true;
    return w;
}

Result<void> ResponseWriter::write(std::string_view bytes) {
    if (!started_) return make_error(Errc::kInternal, "write before start");
    if (broken_) return make_error(Errc::kIo, "connection broken");
    if (head_request_ || status_ == 204 || status_ == 304) return {};  // announced only
    if (bytes.size() > to_write_ - written_) {
        broken_ = true;
        return make_error(Errc::kInternal, "response body longer than its Content-Length");
    }
    auto w = io_.write_all(bytes, io_timeout_);
    if (!w) {
        broken_ = true;
        return w;
    }
    written_ += bytes.size();
    return {};
}

}  // namespace moat::edge::service_internal

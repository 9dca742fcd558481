#include "edge/service/internal/response_writer.h"

#include <string>

#include "edge/date_cache.h"
#include "edge/reason_phrase.h"

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
    h.append("HTTP/1.1 ")
        .append(std::to_string(status))
        .append(" ")
        .append(reason_phrase(status, ""));
    h.append("\r\n");
    for (const auto& [n, v] : headers) {
        if (server_owned(n)) continue;
        h.append(n).append(": ").append(v).append("\r\n");
    }
    h.append("Date: ").append(http_date_now()).append("\r\n");
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

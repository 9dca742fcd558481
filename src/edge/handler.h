#pragma once
// The edge's contract with everything that answers requests (site, mail, acme challenges ...).
// The edge parses and writes; a Handler turns a parsed Request into a Response. Handlers run on
// the connection's worker thread and must not block it; they see only this header of the edge.

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace moat::edge {

enum class Method : std::uint8_t { kGet, kHead, kOther };

// One request header as received; name is lower-case (HTTP/2 requires it; HTTP/1 names are
// folded by the parser). Views point into the connection's buffer: valid during handle() only.
struct HeaderField {
    std::string_view name;
    std::string_view value;
};

struct Request {
    Method method = Method::kOther;
    std::string_view method_name;  // as sent, for logs
    std::string_view target;       // request-target as sent (origin-form)
    std::string_view path;         // target before '?', still percent-encoded
    std::string_view query;        // after '?', without it; empty when none
    std::string_view host;         // Host or :authority, lower-cased, without the port
    int version = 11;              // 10, 11 or 20
    bool secure = false;           // came over TLS
    std::uint16_t local_port = 0;
    std::string_view sni;  // TLS server name, empty when none
    std::vector<HeaderField> headers;
    int worker = 0;  // index of the worker thread handling it

    // First header with this lower-case name, or empty.
    std::string_view header(std::string_view lower_name) const {
        for (const auto& h : headers)
            if (h.name == lower_name) return h.value;
        return {};
    }
};

// Response header lines that do not change per request (security headers, cache-control,
// content-type, etag ...), built once per file version and rule, shared by many responses.
struct HeaderBlock {
    std::vector<std::pair<std::string, std::string>> fields;  // lower-case names
    std::string http1;  // the same fields serialised as "Name: value\r\n" lines
    // Appends a field; keeps http1 in sync ("content-type" is written "Content-Type").
    void add(std::string name, std::string value) {
        std::string h1 = name;
        bool up = true;
        for (char& c : h1) {
            if (up && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            up = (c == '-');
        }
        http1.append(h1).append(": ").append(value).append("\r\n");
        fields.emplace_back(std::move(name), std::move(value));
    }
};

// An open file shared by every response that sends part of it; closed with the last user.
struct OpenFile {
    int fd = -1;
    explicit OpenFile(int f) : fd(f) {}
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    ~OpenFile() {
        if (fd >= 0) ::close(fd);
    }
};

// The bytes of a response: nothing, a slice of shared memory, or a slice of an open file.
struct Body {
    std::shared_ptr<const std::string> bytes;  // when set, send bytes[offset, offset+length)
    std::shared_ptr<const OpenFile> file;      // else when set, send file[offset, offset+length)
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

// What the access log records beyond the status line (CloudFront fields 14, 23, 29, 30).
enum class ResultType : std::uint8_t { kHit, kMiss, kRedirect, kError };

struct Response {
    int status = 200;
    std::shared_ptr<const HeaderBlock> fixed;                // may be null
    std::vector<std::pair<std::string, std::string>> extra;  // per-response headers
    Body body;             // for HEAD, set it anyway: Content-Length is taken from body.length
    bool no_body = false;  // 304 and similar: no Content-Length, no body
    ResultType result = ResultType::kMiss;
    std::string_view
        content_type;      // for the access log; must outlive the write (static or in fixed)
    std::string log_site;  // "<site>" for the access log; empty: not logged per site
    std::string log_env;   // environment name for the access log
    std::uint64_t range_start = 0, range_end = 0;  // for the access log when status is 206
    bool close = false;  // ask the edge to close the connection after this response
};

// Answers requests. One instance is shared by all workers: handle() is called concurrently
// from several threads and must be thread-safe; it runs on the worker and must not block.
class Handler {
public:
    virtual ~Handler() = default;
    virtual void handle(const Request& req, Response& res) = 0;
};

}  // namespace moat::edge

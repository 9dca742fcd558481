#pragma once
// The control-plane listener: HTTP/1.1 over TLS for the S3 API, the admin API and the TLS-RPT
// receiver. Unlike the edge's hot path, these handlers block (fsync, SQLite, hashing a 5 GiB
// body) and stream request bodies, so each connection is served by one thread of a bounded pool
// with socket deadlines, and the edge's event loops never wait on them. S3 clients (aws-cli,
// boto3, rclone, s3cmd) speak HTTP/1.1 to S3 endpoints, so HTTP/2 is not offered here.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace moat::tls {
class ServerContext;
}

namespace moat::edge {

struct ServiceSettings {
    std::string name = "service";     // for logs and thread names: "s3", "admin"
    std::vector<std::string> listen;  // "127.0.0.1:9000", "[::1]:9000"
    int max_connections = 128;        // one thread each; beyond, new connections get 503
    std::chrono::milliseconds handshake_timeout{10000};
    std::chrono::milliseconds header_timeout{10000};  // whole request head
    std::chrono::milliseconds idle_timeout{60000};    // between requests on a keep-alive
    std::chrono::milliseconds io_timeout{60000};      // a body read or write making no progress
    std::size_t max_header_bytes = 64 * 1024;
};

// The request body: Content-Length or Transfer-Encoding: chunked framing removed (aws-chunked
// is the S3 layer's business). "Expect: 100-continue" is answered on the first read, so a
// handler that refuses a request early never makes the client send the body.
class ServiceBody {
public:
    virtual ~ServiceBody() = default;
    // Up to n bytes; 0 at the end of the body. Errors: kUnavailable (no progress within
    // io_timeout), kInvalidArgument (the peer closed early or sent bad chunk framing).
    virtual Result<std::size_t> read(char* buf, std::size_t n) = 0;
    // Content-Length when the request had one.
    virtual std::optional<std::uint64_t> length() const = 0;
};

using ServiceHeaders = std::vector<std::pair<std::string, std::string>>;

// One response per request. The server adds Date, Content-Length and Connection.
class ServiceResponse {
public:
    virtual ~ServiceResponse() = default;
    // Sends the status line and headers; exactly content_length body bytes must follow through
    // write() (for HEAD, none are written and content_length is only announced).
    virtual Result<void> start(int status, const ServiceHeaders& headers,
                               std::uint64_t content_length) = 0;
    // Blocks until every byte is sent or encrypted into the TLS layer's own buffer: no copy is
    // kept, so the caller may free or reuse `bytes` as soon as it returns (zero-copy GETs lend
    // the store's cached plaintext for exactly that long).
    virtual Result<void> write(std::string_view bytes) = 0;
    virtual bool started() const = 0;
    // start() and write() of a whole small body.
    Result<void> send(int status, const ServiceHeaders& headers, std::string_view body) {
        MOAT_TRY(start(status, headers, body.size()));
        return body.empty() ? Result<void>() : write(body);
    }
};

struct ServiceRequest {
    std::string method;      // as sent
    std::string target;      // request-target as sent
    std::string path;        // before '?', still percent-encoded
    std::string query;       // after '?', without it
    std::string host;        // Host header, lower-cased, without the port
    ServiceHeaders headers;  // names lower-cased, values as sent, in order
    bool secure = false;
    std::string peer_ip;
    std::uint16_t local_port = 0;
    std::string tls_version;  // "TLSv1.3" (OpenSSL's names); empty over plain HTTP
    std::string tls_cipher;   // "TLS_AES_128_GCM_SHA256"; empty over plain HTTP
    std::chrono::system_clock::time_point received;
    ServiceBody* body = nullptr;  // never null while handle() runs

    // First header with this lower-case name, or empty.
    std::string_view header(std::string_view lower_name) const {
        for (const auto& h : headers)
            if (h.first == lower_name) return h.second;
        return {};
    }
};

class ServiceHandler {
public:
    virtual ~ServiceHandler() = default;
    // Runs on a pool thread and may block. If it returns without starting a response the
    // server answers 500. Unread body bytes are drained (bounded) or the connection is closed.
    virtual void handle(ServiceRequest& req, ServiceResponse& res) = 0;
};

class ServiceServer {
public:
    // Binds every listen address now (errors name the address). tls null: plain HTTP (tests).
    static Result<std::unique_ptr<ServiceServer>> create(ServiceSettings settings,
                                                         std::shared_ptr<tls::ServerContext> tls,
                                                         std::shared_ptr<ServiceHandler> handler);
    virtual ~ServiceServer() = default;
    virtual void start() = 0;  // starts the accept thread(s); returns at once
    virtual void stop() = 0;   // stops accepting, closes idle connections, joins (bounded)
    virtual std::vector<std::uint16_t> ports() const = 0;  // bound ports, in listen order
};

}  // namespace moat::edge

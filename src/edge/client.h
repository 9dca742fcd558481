#pragma once
// Outbound HTTPS client (libcurl): the one way moat parts talk to other servers (ACME CAs, the
// mail checker, S3 origins). Blocking by design: call it from a part's own thread or a thread
// pool, never from an edge worker's event loop.
//
// Security floor, not configurable down: TLS 1.2 or newer, the peer's certificate and host name
// are verified (CURLOPT_SSL_VERIFYPEER/VERIFYHOST), plain http:// is refused unless the caller
// opts in (allow_http), redirects are not followed, and bodies above max_body are refused
// before they are held in memory.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace moat::edge {

struct ClientOptions {
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds timeout{30'000};  // the whole transfer
    std::size_t max_body = 1 << 20;             // larger response bodies: kTooLarge
    std::string ca_file;  // PEM bundle to trust instead of the system store (tests: pebble's CA)
    // CURLOPT_RESOLVE entries "host:port:address" (tests: send a name to 127.0.0.1).
    std::vector<std::string> resolve;
    bool allow_http = false;  // permit http:// URLs (loopback tests, self-checks)
    std::string user_agent = "moat/0.1";
};

struct ClientRequest {
    std::string method = "GET";  // GET, HEAD, POST
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  // sent as given
    std::string body;                                          // POST only
};

struct ClientResponse {
    int status = 0;
    // Header fields of the final response, names lower-cased, in order received.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // First value of a lower-case header name, or empty.
    std::string_view header(std::string_view lower_name) const;
    // Every value of a header (e.g. several Link fields).
    std::vector<std::string_view> headers_named(std::string_view lower_name) const;
};

// One client with fixed options; stateless between calls (a fresh connection per call, which is
// fine for the low rates of ACME and checks), so one instance may be used from several threads.
class HttpClient {
public:
    explicit HttpClient(ClientOptions opts = {});

    // Performs one request. Errors: kInvalidArgument for a URL that is not https:// (or
    // http:// with allow_http) or an unknown method; kUnavailable when the server cannot be
    // reached, the TLS handshake or certificate check fails, or the time runs out (the detail
    // says which, from libcurl's message); kTooLarge when the body exceeds max_body. Any HTTP
    // status is a value, not an error. Messages never contain request bodies or headers.
    Result<ClientResponse> fetch(const ClientRequest& req) const;

    Result<ClientResponse> get(std::string url) const;
    Result<ClientResponse> head(std::string url) const;
    Result<ClientResponse> post(std::string url, std::string body, std::string content_type) const;

    const ClientOptions& options() const { return opts_; }

private:
    ClientOptions opts_;
};

}  // namespace moat::edge

#pragma once
// Fetches what the header and transport cards need: the response headers of GET / over HTTPS
// (a minimal HTTP/1.1 client over OpenSSL), what plain HTTP on port 80 does, and whether the
// host answers over IPv6. Synchronous; every step has a deadline.

#include <optional>
#include <string>
#include <vector>

#include "audit/headers_grade.h"
#include "audit/tls_probe.h"
#include "core/result.h"
#include "site/header_policy.h"

namespace moat::audit {

struct HttpResponse {
    int status = 0;
    std::string status_line;
    site::HeaderList headers;  // names as sent, in order, repeats kept
};

// Parses a response head ("HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n"). kInvalidArgument
// when the status line is not HTTP/1.x. Obsolete line folding is joined with a space.
Result<HttpResponse> parse_response_head(const std::string& raw);

// GET `path` over TLS (TLS 1.2+ and the library's defaults, as a browser would connect),
// with an Origin header (`origin`) so CORS reflection shows.
Result<HttpResponse> fetch_https(const ProbeTarget& target, const std::string& path,
                                 const std::string& origin);

// Port-80 behaviour: GET / and GET of a deep path over plain HTTP.
struct HttpPortReport {
    HttpPort home = HttpPort::kUnknown;  // what http://host/ does
    std::string summary;  // "redirect everything", "redirect home only", "refuse", "serves http"
    int home_status = 0;
    std::string home_location;
    int deep_status = 0;
    std::string deep_location;
    std::string error;  // why nothing answered, when refused
};
HttpPortReport probe_http_port(const std::string& host, const internal::Endpoint& endpoint,
                               int https_port, std::chrono::milliseconds timeout);

// Classifies a redirect for the Observatory's test: https on the same host, another host, or
// plain http. `location` absolute or relative (relative stays on http).
HttpPort classify_redirect(const std::string& host, int status, const std::string& location);

// IPv6 reachability: the host's AAAA addresses and whether a TLS handshake works on one.
struct Ipv6Report {
    std::vector<std::string> addresses;
    bool reachable = false;
    std::string detail;
};
Ipv6Report probe_ipv6(const ProbeTarget& target);

}  // namespace moat::audit

#pragma once
// `moat audit`: probes one HTTPS site (TLS, headers, transport) and grades it. Synchronous;
// bounded by the per-probe timeout (a few dozen handshakes at most on a live server, one
// timeout on a dead one).

#include <chrono>
#include <optional>
#include <string>

#include "audit/headers_grade.h"
#include "audit/http_probe.h"
#include "audit/tls_grade.h"
#include "audit/tls_probe.h"
#include "core/result.h"

namespace moat::audit {

struct AuditOptions {
    std::string url;      // https://host[:port][/path], or host[:port]
    std::string resolve;  // "host:addr" or curl's "host:port:addr": connect there instead of DNS
    std::string ca_file;  // extra trust anchors (PEM)
    std::chrono::milliseconds timeout{5000};  // per connection/handshake/response
    int http_port = 80;                       // where plain HTTP is probed
};

struct Target {
    std::string host;
    int port = 443;
    std::string path = "/";
};

// Parses the URL (https only; an http:// URL is refused with a hint). kInvalidArgument.
Result<Target> parse_target(const std::string& url);

struct AuditReport {
    Target target;
    std::string address;    // the endpoint probed
    std::string tls_error;  // set when no TLS handshake worked
    std::optional<TlsProbeResult> tls;
    TlsGrade tls_grade;
    std::string http_error;  // set when GET / failed
    std::optional<HttpResponse> http;
    std::optional<HeaderCard> headers;
    HttpPortReport http_port;
    Ipv6Report ipv6;
    std::string content_encoding;  // of GET / with Accept-Encoding: br, zstd, gzip
    std::string mail_hint;

    // The worse of the TLS and header grades ("F" when a part could not be graded).
    std::string overall_grade() const;
};

// Runs every probe. An error only for a bad URL or --resolve; unreachable or broken servers
// give a report whose tls_error / http_error say why.
Result<AuditReport> run_audit(const AuditOptions& options);

}  // namespace moat::audit

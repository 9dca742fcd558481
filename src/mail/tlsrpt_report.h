#pragma once
// TLS-RPT reports (RFC 8460 §4) as senders really send them: the body decoder (gzip with a
// decompression limit, JSON) and a tolerant parser that accepts the real-world variants
// (mx-host as a string or an array, "mx-host-pattern", datetimes without a zone, missing
// failure-details) but refuses what cannot be summarised (no report-id, policies not an array).
// Pure functions; no I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::mail {

struct TlsRptFailure {
    std::string result_type;
    std::string sending_mta_ip;
    std::string receiving_mx_hostname;
    std::string receiving_ip;
    std::int64_t count = 0;
};

struct TlsRptPolicy {
    std::string type;    // "sts", "tlsa", "no-policy-found"
    std::string domain;  // policy-domain, lower-case
    std::vector<std::string> mx_host;
    std::int64_t success = 0, failure = 0;
    std::vector<TlsRptFailure> failures;
};

struct TlsRptReport {
    std::string organization;
    std::string report_id;
    std::string contact;
    std::int64_t start = 0, end = 0;  // unix seconds (UTC)
    std::vector<TlsRptPolicy> policies;
};

// RFC 3339 date-time, tolerating a missing zone (read as UTC), fractional seconds and a space
// for 'T'. Errors: kInvalidArgument.
Result<std::int64_t> parse_datetime(std::string_view text);

// Inflates a gzip (or zlib) body, refusing output beyond max_out (kTooLarge: a gzip bomb) and
// truncated or corrupt input (kInvalidArgument).
Result<std::string> gunzip_limited(std::string_view gz, std::size_t max_out);

// The report JSON of a POST body by its Content-Type (RFC 8460 §5.3): application/tlsrpt+gzip
// (or a body starting with the gzip magic, whatever the type says), application/tlsrpt+json or
// application/json. Errors: kInvalidArgument (unsupported type, bad gzip), kTooLarge.
Result<std::string> decode_report_body(std::string_view content_type, std::string_view body,
                                       std::size_t max_inflated);

// Parses and checks a report. Errors: kInvalidArgument naming the field.
Result<TlsRptReport> parse_tlsrpt(std::string_view json);

}  // namespace moat::mail

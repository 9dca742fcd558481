#pragma once
// ACME resources as moat reads them (RFC 8555 §7.1), parsed from untrusted JSON: every
// function validates types and required fields and returns kInvalidArgument with a short
// reason instead of throwing. Unknown fields are ignored (§7.1: clients must).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::acme {

// §7.1.1. renewal_info is ARI (RFC 9773 §4), empty when the CA does not offer it.
struct Directory {
    std::string new_nonce, new_account, new_order, revoke_cert, key_change, renewal_info;
    std::string terms_of_service;
    bool external_account_required = false;
    std::vector<std::string> caa_identities;
};
Result<Directory> parse_directory(std::string_view body);

// §6.7: an error document (application/problem+json).
struct Problem {
    std::string type;  // "urn:ietf:params:acme:error:badNonce" ...
    std::string detail;
    int status = 0;
    bool is(std::string_view short_type) const;  // is("badNonce")
    std::string to_string() const;               // "type: detail", for logs and errors
};
// Never fails: an unparseable body becomes a Problem with the HTTP status and a generic detail.
Problem parse_problem(std::string_view body, int http_status);

struct Order {
    std::string status;                    // pending | ready | processing | valid | invalid
    std::vector<std::string> identifiers;  // dns values
    std::vector<std::string> authorizations;
    std::string finalize;
    std::string certificate;  // when valid
    std::optional<Problem> error;
};
Result<Order> parse_order(std::string_view body);

struct Challenge {
    std::string type;  // http-01 | dns-01 | tls-alpn-01 ...
    std::string url;
    std::string token;
    std::string status;
    std::optional<Problem> error;
};

struct Authorization {
    std::string identifier;  // dns value
    std::string status;      // pending | valid | invalid | deactivated | expired | revoked
    bool wildcard = false;
    std::vector<Challenge> challenges;
    const Challenge* find(std::string_view type) const;
    // The first challenge with an error, for messages.
    std::optional<Problem> first_error() const;
};
Result<Authorization> parse_authorization(std::string_view body);

// RFC 9773 §4.2: renewalInfo's suggestedWindow.
struct RenewalWindow {
    std::chrono::system_clock::time_point start, end;
    std::string explanation_url;
};
Result<RenewalWindow> parse_renewal_info(std::string_view body);

// RFC 3339 "2025-01-02T04:00:00Z" (fractions and offsets accepted). kInvalidArgument otherwise.
Result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);

// RFC 9110 §10.2.3 Retry-After: delay-seconds or an HTTP-date; nullopt when absent/malformed.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// The token alphabet of §8.1 (base64url, at least 128 bits of entropy = 22 chars): a token is
// put into URLs and file-like keys, so anything else is refused.
bool valid_token(std::string_view token);

}  // namespace moat::acme

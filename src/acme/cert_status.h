#pragma once
// What the Manager knows about one managed certificate, and its on-disk form
// (<cert dir>/status.json, status-rsa.json for the RSA one) that `moat certs` reads without a
// running server; and the order backoff every process sharing the ACME state obeys.

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace moat::acme {

struct CertStatus {
    using TimePoint = std::chrono::system_clock::time_point;
    std::string name;                // canonical host: the certificate's key
    std::vector<std::string> names;  // every name ordered
    bool rsa = false;                // the RSA-2048 certificate beside the ECDSA one
    bool has_cert = false;
    std::string issuer;
    TimePoint not_after{};
    TimePoint renew_at{};      // when the next renewal is due (ARI or lifetime fraction)
    bool ari = false;          // renew_at came from the CA's renewalInfo window
    int failures = 0;          // consecutive failed orders
    std::string last_error;    // of the last failed order; empty after a success
    TimePoint next_attempt{};  // after a failure: not before this (backoff / Retry-After)
    TimePoint last_issued{};

    // "valid", "renewing" (due), "failing" (failures > 0 with a certificate), "missing"
    // (never issued) or "expired".
    std::string state(TimePoint now) const;
};

// After a failed order: how many in a row, and not before when any process may order this
// certificate again. Shared through the StateStore, because the processes share one CA account
// and its rate limits (Let's Encrypt: 5 failed validations per account, host name and hour):
// each backing off on its own would retry as many times as there are processes.
struct OrderBackoff {
    using TimePoint = std::chrono::system_clock::time_point;
    int failures = 0;  // 0: no backoff
    TimePoint not_before{};
    std::string last_error;
};

std::string backoff_to_json(const OrderBackoff& b);
// kInvalidArgument for malformed JSON.
Result<OrderBackoff> backoff_from_json(const std::string& text);

std::string status_to_json(const CertStatus& s);
// kInvalidArgument for malformed JSON (a hand-edited or truncated file).
Result<CertStatus> status_from_json(const std::string& text);

}  // namespace moat::acme

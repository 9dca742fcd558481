#pragma once
// When to renew and how long to wait after a failure. Pure functions of times and a random
// number in [0, 1), so tests pin every case (odd lifetimes, ARI windows in the past ...).
//
// Policy (tls.md §3.2-3.4): never assume 90-day certificates. With ARI (RFC 9773 §4.2) a
// uniformly random time inside the CA's suggested window, or now when the window has begun.
// Without ARI, when a third of the lifetime is left (half for lifetimes of 10 days or less,
// like lego), or the configured fraction; minus a small jitter so a fleet does not renew in
// lock step. Whatever ARI says, renew at once when less than 1/50 of the lifetime is left.

#include <chrono>
#include <optional>

#include "acme/messages.h"

namespace moat::acme {

using TimePoint = std::chrono::system_clock::time_point;

// `fraction` in (0, 1): renew when that part of the lifetime is left; 0 selects the default.
// `u` in [0, 1) jitters the result earlier by up to min(1 h, lifetime / 100).
TimePoint renewal_time(TimePoint not_before, TimePoint not_after, double fraction, double u);

// RFC 9773 §4.2: a time in [start, end) chosen by `u`; never later than the emergency limit
// of the certificate (not_after - lifetime / 50).
TimePoint ari_renewal_time(const RenewalWindow& w, TimePoint not_before, TimePoint not_after,
                           double u);

// Wait after the `failures`-th consecutive failure (1-based): 1, 2, 5, 10, 20, 30 min, 1, 2,
// 3 h, then 6 h for ever (certmagic's curve, capped at 6 h as the issue asks), +-10% by `u`.
// A Retry-After from the CA (429/503) wins when longer, clamped to 1 day.
std::chrono::seconds backoff(int failures, double u,
                             std::optional<std::chrono::seconds> retry_after = std::nullopt);

// Days from `now` to `not_after` (negative once expired), for the expiry gauge.
double days_left(TimePoint now, TimePoint not_after);

}  // namespace moat::acme

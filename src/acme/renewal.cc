#include "acme/renewal.h"

#include <algorithm>

namespace moat::acme {

using std::chrono::duration_cast;
using std::chrono::hours;
using std::chrono::seconds;

TimePoint renewal_time(TimePoint not_before, TimePoint not_after, double fraction, double u) {
    auto lifetime = not_after - not_before;
    if (lifetime <= TimePoint::duration::zero()) return not_before;  // broken cert: renew now
    if (!(fraction > 0 && fraction < 1)) fraction = lifetime <= hours(24 * 10) ? 0.5 : 1.0 / 3;
    auto left = duration_cast<TimePoint::duration>(lifetime * fraction);
    auto jitter_max = std::min<TimePoint::duration>(hours(1), lifetime / 100);
    auto jitter = duration_cast<TimePoint::duration>(jitter_max * std::clamp(u, 0.0, 1.0));
    return not_after - left - jitter;
}

TimePoint ari_renewal_time(const RenewalWindow& w, TimePoint not_before, TimePoint not_after,
                           double u) {
    auto span = w.end - w.start;
    TimePoint t = w.start + duration_cast<TimePoint::duration>(span * std::clamp(u, 0.0, 0.999));
    auto lifetime = not_after - not_before;
    if (lifetime > TimePoint::duration::zero()) t = std::min(t, not_after - lifetime / 50);
    return t;
}

seconds backoff(int failures, double u, std::optional<seconds> retry_after) {
    static constexpr int kMinutes[] = {1, 2, 5, 10, 20, 30, 60, 120, 180, 360};
    constexpr int n = sizeof kMinutes / sizeof kMinutes[0];
    int i = std::clamp(failures, 1, n) - 1;
    double base = kMinutes[i] * 60.0;
    double scaled = base * (0.9 + 0.2 * std::clamp(u, 0.0, 1.0));
    auto wait = seconds(static_cast<long>(std::min(scaled, 6 * 3600.0)));
    if (retry_after) wait = std::max(wait, std::min(*retry_after, seconds(86400)));
    return wait;
}

double days_left(TimePoint now, TimePoint not_after) {
    return std::chrono::duration<double>(not_after - now).count() / 86400.0;
}

}  // namespace moat::acme

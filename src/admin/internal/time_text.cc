#include "admin/internal/time_text.h"

#include <fmt/format.h>

#include <ctime>

namespace moat::admin::internal {
namespace {

std::string utc(std::int64_t secs) {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// Floor division, so times before 1970 still print their own second.
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }

}  // namespace

std::string rfc3339(TimePoint t) { return utc(floor_div(unix_ms(t), 1000)) + "Z"; }

std::string rfc3339_ms(TimePoint t) {
    std::int64_t ms = unix_ms(t);
    std::int64_t secs = floor_div(ms, 1000);
    return utc(secs) + fmt::format(".{:03}Z", ms - secs * 1000);
}

std::int64_t unix_ms(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_unix_ms(std::int64_t ms) {
    return TimePoint(
        std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

}  // namespace moat::admin::internal

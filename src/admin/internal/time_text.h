#pragma once
// RFC 3339 UTC timestamps as the admin API and the audit log write them. Private to admin/.

#include <chrono>
#include <cstdint>
#include <string>

namespace moat::admin::internal {

using TimePoint = std::chrono::system_clock::time_point;

std::string rfc3339(TimePoint t);     // "2026-11-29T03:00:00Z"
std::string rfc3339_ms(TimePoint t);  // "2026-11-29T03:00:00.123Z"
std::int64_t unix_ms(TimePoint t);
TimePoint from_unix_ms(std::int64_t ms);

}  // namespace moat::admin::internal

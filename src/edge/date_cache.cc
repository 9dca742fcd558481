#include "edge/date_cache.h"

#include <ctime>

namespace moat::edge {

std::string_view http_date_now() {
    thread_local std::time_t cached_at = 0;
    thread_local char buf[32];
    thread_local std::size_t len = 0;
    std::time_t now = std::time(nullptr);
    if (now != cached_at) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        len = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_at = now;
    }
    return {buf, len};
}

}  // namespace moat::edge

#include "content/http_date.h"

#include <cstdio>

namespace moat::content {
namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::string_view kLongDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};

// A small cursor over the input; every reader fails (returns false) without consuming on error.
struct Cursor {
    std::string_view s;

    bool lit(std::string_view l) {
        if (s.substr(0, l.size()) != l) return false;
        s.remove_prefix(l.size());
        return true;
    }
    // Exactly n digits (n > 0).
    bool digits(int n, int& out) {
        if (s.size() < static_cast<std::size_t>(n)) return false;
        int v = 0;
        for (int i = 0; i < n; ++i) {
            char c = s[i];
            if (c < '0' || c > '9') return false;
            v = v * 10 + (c - '0');
        }
        s.remove_prefix(n);
        out = v;
        return true;
    }
    // Day names and month names are case-sensitive in RFC 9110 §5.6.7 ("%s" strings in ABNF are
    // case-sensitive, RFC 7405), so compare exactly.
    bool month(int& out) {
        for (int i = 0; i < 12; ++i)
            if (lit(kMonths[i])) {
                out = i;
                return true;
            }
        return false;
    }
    bool day_name() {
        for (const char* d : kDays)
            if (lit(d)) return true;
        return false;
    }
    bool day_name_long() {
        for (std::string_view d : kLongDays)
            if (lit(d)) return true;
        return false;
    }
    bool time_of_day(std::tm& tm) {
        return digits(2, tm.tm_hour) && lit(":") && digits(2, tm.tm_min) && lit(":") &&
               digits(2, tm.tm_sec);
    }
};

std::optional<std::time_t> to_time(std::tm& tm) {
    // §5.6.7: hour 0-23, minute 0-59, second 0-60 (leap second).
    if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) return std::nullopt;
    if (tm.tm_mday < 1 || tm.tm_mday > 31) return std::nullopt;
    int mday = tm.tm_mday, mon = tm.tm_mon;
    std::time_t t = ::timegm(&tm);
    // timegm normalises "Feb 31" into March: reject dates that do not exist.
    if (tm.tm_mday != mday || tm.tm_mon != mon) return std::nullopt;
    return t;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::time_t> parse_imf(Cursor c) {
    std::tm tm{};
    int year = 0;
    if (!(c.day_name() && c.lit(", ") && c.digits(2, tm.tm_mday) && c.lit(" ") &&
          c.month(tm.tm_mon) && c.lit(" ") && c.digits(4, year) && c.lit(" ") &&
          c.time_of_day(tm) && c.lit(" GMT") && c.s.empty()))
        return std::nullopt;
    tm.tm_year = year - 1900;
    return to_time(tm);
}

// RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
std::optional<std::time_t> parse_rfc850(Cursor c) {
    std::tm tm{};
    int yy = 0;
    if (!(c.day_name_long() && c.lit(", ") && c.digits(2, tm.tm_mday) && c.lit("-") &&
          c.month(tm.tm_mon) && c.lit("-") && c.digits(2, yy) && c.lit(" ") && c.time_of_day(tm) &&
          c.lit(" GMT") && c.s.empty()))
        return std::nullopt;
    // §5.6.7: a two-digit year that appears to be more than 50 years in the future is in the
    // past century. Pinning the pivot to the current year would make parsing time-dependent;
    // every date a server meets is after 1970, so 70-99 -> 19xx, 00-69 -> 20xx.
    tm.tm_year = yy >= 70 ? yy : yy + 100;
    return to_time(tm);
}

// asctime: "Sun Nov  6 08:49:37 1994" (day of month padded with a space).
std::optional<std::time_t> parse_asctime(Cursor c) {
    std::tm tm{};
    int year = 0;
    if (!(c.day_name() && c.lit(" ") && c.month(tm.tm_mon) && c.lit(" "))) return std::nullopt;
    if (c.lit(" ")) {
        if (!c.digits(1, tm.tm_mday)) return std::nullopt;
    } else if (!c.digits(2, tm.tm_mday)) {
        return std::nullopt;
    }
    if (!(c.lit(" ") && c.time_of_day(tm) && c.lit(" ") && c.digits(4, year) && c.s.empty()))
        return std::nullopt;
    tm.tm_year = year - 1900;
    return to_time(tm);
}

}  // namespace

std::string format_http_date(std::time_t t) {
    std::tm tm{};
    if (::gmtime_r(&t, &tm) == nullptr) tm = std::tm{};  // out of range: the epoch, not garbage
    char buf[40];
    int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                          kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                          tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

std::optional<std::time_t> parse_http_date(std::string_view s) {
    // Field values arrive with surrounding OWS already removed by the parsers, but a stray
    // space costs nothing to forgive (RFC 9110 §5.5).
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (s.size() < 24) return std::nullopt;
    if (s[3] == ',') return parse_imf(Cursor{s});
    if (s[3] == ' ') return parse_asctime(Cursor{s});
    return parse_rfc850(Cursor{s});
}

}  // namespace moat::content

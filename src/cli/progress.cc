#include "cli/progress.h"

#include <algorithm>
#include <cmath>

namespace moat::cli {
namespace {

constexpr std::uint64_t kPerFileLines = 50;  // plain mode: a line per file up to this many
constexpr auto kRedraw = std::chrono::milliseconds(100);

struct Unit {
    double div;
    const char* name;
};

Unit unit_for(std::uint64_t n) {
    if (n >= 1'000'000'000'000ull) return {1e12, "TB"};
    if (n >= 1'000'000'000ull) return {1e9, "GB"};
    if (n >= 1'000'000ull) return {1e6, "MB"};
    if (n >= 1'000ull) return {1e3, "kB"};
    return {1, "B"};
}

std::string fixed1(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

std::string scaled(std::uint64_t n, Unit u) {
    if (u.div == 1) return std::to_string(n);
    return fixed1(static_cast<double>(n) / u.div);
}

}  // namespace

std::string format_bytes(std::uint64_t n) {
    Unit u = unit_for(n);
    return scaled(n, u) + " " + u.name;
}

std::string format_bytes_pair(std::uint64_t done, std::uint64_t total) {
    Unit u = unit_for(total);
    return scaled(done, u) + "/" + scaled(total, u) + " " + u.name;
}

std::string format_rate(double bps) {
    if (!(bps >= 0) || std::isinf(bps)) return "-";
    return format_bytes(static_cast<std::uint64_t>(std::llround(bps))) + "/s";
}

std::string format_eta(double seconds) {
    if (!(seconds >= 0) || std::isinf(seconds) || seconds > 360000) return "?";
    auto s = static_cast<long long>(std::ceil(seconds));
    char buf[32];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%llds", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
    return buf;
}

std::string progress_line(const ProgressState& s, int width) {
    double frac = s.bytes_total > 0   ? static_cast<double>(s.bytes_done) / s.bytes_total
                  : s.files_total > 0 ? static_cast<double>(s.files_done) / s.files_total
                                      : 1.0;
    frac = std::clamp(frac, 0.0, 1.0);
    int filled = static_cast<int>(std::floor(frac * width));
    std::string line = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    line += std::to_string(s.files_done) + "/" + std::to_string(s.files_total) + " files ";
    line += format_bytes_pair(s.bytes_done, s.bytes_total);
    if (s.bytes_done == 0 || s.elapsed_seconds <= 0) return line + " - ETA ?";
    double rate = static_cast<double>(s.bytes_done) / s.elapsed_seconds;
    double left = static_cast<double>(s.bytes_total - std::min(s.bytes_done, s.bytes_total));
    return line + " " + format_rate(rate) + " ETA " + format_eta(left / rate);
}

Progress::Progress(std::uint64_t files_total, std::uint64_t bytes_total, bool tty, std::FILE* out,
                   std::function<Clock::time_point()> now)
    : tty_(tty), out_(out), now_(std::move(now)) {
    s_.files_total = files_total;
    s_.bytes_total = bytes_total;
    start_ = now_();
}

ProgressState Progress::state_locked() const {
    ProgressState s = s_;
    s.elapsed_seconds = std::chrono::duration<double>(now_() - start_).count();
    return s;
}

void Progress::draw_locked(bool force) {
    if (!tty_) return;
    auto t = now_();
    if (!force && drawn_ && t - last_draw_ < kRedraw) return;
    last_draw_ = t;
    drawn_ = true;
    // \r back to the line's start, \x1b[K clears what a longer previous line left behind.
    std::string line = "\r" + progress_line(state_locked()) + "\x1b[K";
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
}

void Progress::add_bytes(std::int64_t delta) {
    std::lock_guard lock(mu_);
    if (delta < 0 && static_cast<std::uint64_t>(-delta) > s_.bytes_done)
        s_.bytes_done = 0;
    else
        s_.bytes_done += static_cast<std::uint64_t>(delta);
    draw_locked(false);
}

void Progress::file_done(const std::string& path, std::uint64_t size) {
    std::lock_guard lock(mu_);
    ++s_.files_done;
    if (tty_) {
        draw_locked(false);
        return;
    }
    if (s_.files_total <= kPerFileLines) {
        std::fprintf(out_, "uploaded %s (%s) %llu/%llu\n", path.c_str(), format_bytes(size).c_str(),
                     static_cast<unsigned long long>(s_.files_done),
                     static_cast<unsigned long long>(s_.files_total));
    } else {
        bool printed = false;
        while (next_tenth_ <= 10 && s_.files_done * 10 >= next_tenth_ * s_.files_total) {
            ++next_tenth_;
            printed = true;
        }
        if (printed) std::fprintf(out_, "%s\n", progress_line(state_locked(), 10).c_str());
    }
    std::fflush(out_);
}

void Progress::finish() {
    std::lock_guard lock(mu_);
    if (!tty_) return;
    draw_locked(true);
    std::fputc('\n', out_);
    std::fflush(out_);
}

}  // namespace moat::cli

#pragma once
// Upload progress of `moat deploy`. On a terminal: one bar redrawn in place at most 10 times a
// second, "[#####.....] 123/500 files 4.2/10.0 MB 3.1 MB/s ETA 2s". Elsewhere (CI logs, pipes):
// plain lines, one per uploaded file when there are few, else one every 10%.
// Thread-safe: the upload threads report into one Progress.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>

namespace moat::cli {

// Decimal units (what transfer rates use): "512 B", "1.5 kB", "4.2 MB", "10.0 GB".
std::string format_bytes(std::uint64_t n);
// "4.2/10.0 MB": both in the unit of `total`.
std::string format_bytes_pair(std::uint64_t done, std::uint64_t total);
std::string format_rate(double bytes_per_second);  // "3.1 MB/s"
std::string format_eta(double seconds);            // "2s", "1m05s", "2h03m"; "?" if unknown

struct ProgressState {
    std::uint64_t files_done = 0, files_total = 0;
    std::uint64_t bytes_done = 0, bytes_total = 0;
    double elapsed_seconds = 0;
};
// The terminal line, `width` cells of bar; rate and ETA from the average so far ("-" before
// anything was sent).
std::string progress_line(const ProgressState& s, int width = 10);

class Progress {
public:
    using Clock = std::chrono::steady_clock;
    // `out` is written (and flushed) from whichever thread reports; `tty` picks the bar.
    Progress(std::uint64_t files_total, std::uint64_t bytes_total, bool tty, std::FILE* out,
             std::function<Clock::time_point()> now = Clock::now);

    void add_bytes(std::int64_t delta);  // negative: a retried upload starts over
    void file_done(const std::string& path, std::uint64_t size);
    void finish();  // last bar drawn and its line ended (tty)

private:
    void draw_locked(bool force);
    ProgressState state_locked() const;

    std::mutex mu_;
    ProgressState s_;
    bool tty_;
    std::FILE* out_;
    std::function<Clock::time_point()> now_;
    Clock::time_point start_;
    Clock::time_point last_draw_{};
    bool drawn_ = false;
    std::uint64_t next_tenth_ = 1;  // plain mode with many files: next 10% step to print
};

}  // namespace moat::cli

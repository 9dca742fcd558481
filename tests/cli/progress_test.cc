// Progress of `moat deploy`: sizes, rates, ETA, the bar, and the plain-line fallback.
#include "cli/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace moat::cli {
namespace {

using namespace std::chrono_literals;

TEST(Progress, FormatsBytesInDecimalUnits) {
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_bytes(999), "999 B");
    EXPECT_EQ(format_bytes(1500), "1.5 kB");
    EXPECT_EQ(format_bytes(4'200'000), "4.2 MB");
    EXPECT_EQ(format_bytes(10'000'000'000ull), "10.0 GB");
    EXPECT_EQ(format_bytes_pair(4'200'000, 10'000'000), "4.2/10.0 MB");
    EXPECT_EQ(format_bytes_pair(500, 10'000'000), "0.0/10.0 MB");
    EXPECT_EQ(format_bytes_pair(12, 900), "12/900 B");
}

TEST(Progress, FormatsRatesAndEta) {
    EXPECT_EQ(format_rate(3'100'000), "3.1 MB/s");
    EXPECT_EQ(format_rate(0), "0 B/s");
    EXPECT_EQ(format_eta(0), "0s");
    EXPECT_EQ(format_eta(1.2), "2s");  // rounded up: never promise too early
    EXPECT_EQ(format_eta(65), "1m05s");
    EXPECT_EQ(format_eta(7380), "2h03m");
    EXPECT_EQ(format_eta(-1), "?");
    EXPECT_EQ(format_eta(1e12), "?");
}

TEST(Progress, LineHasBarCountsRateAndEta) {
    ProgressState s;
    s.files_done = 123;
    s.files_total = 500;
    s.bytes_done = 5'000'000;
    s.bytes_total = 10'000'000;
    s.elapsed_seconds = 2;
    EXPECT_EQ(progress_line(s), "[#####.....] 123/500 files 5.0/10.0 MB 2.5 MB/s ETA 2s");
    s.bytes_done = 0;
    s.files_done = 0;
    EXPECT_EQ(progress_line(s), "[..........] 0/500 files 0.0/10.0 MB - ETA ?");
    s.bytes_done = s.bytes_total;
    s.files_done = 500;
    EXPECT_EQ(progress_line(s, 4), "[####] 500/500 files 10.0/10.0 MB 5.0 MB/s ETA 0s");
}

// Collects what a Progress writes (open_memstream) with a hand-driven clock.
struct Capture {
    char* buf = nullptr;
    std::size_t len = 0;
    std::FILE* f = open_memstream(&buf, &len);
    ~Capture() {
        if (f) std::fclose(f);
        std::free(buf);
    }
    std::string text() {
        std::fflush(f);
        return std::string(buf, len);
    }
};

TEST(Progress, TerminalRedrawsAtMostTenTimesASecond) {
    Capture out;
    auto t = Progress::Clock::time_point{};
    Progress p(3, 3000, true, out.f, [&] { return t; });
    auto draws = [&] {
        std::string s = out.text();
        return std::count(s.begin(), s.end(), '\r');
    };
    for (int i = 0; i < 100; ++i) p.add_bytes(10);  // all at the same instant: one draw
    EXPECT_EQ(draws(), 1);
    t += 50ms;
    p.add_bytes(10);
    EXPECT_EQ(draws(), 1);
    t += 60ms;
    p.add_bytes(10);
    EXPECT_EQ(draws(), 2);
    std::string s = out.text();
    EXPECT_NE(s.find("\x1b[K"), std::string::npos);
    p.finish();
    s = out.text();
    EXPECT_EQ(s.back(), '\n');
    EXPECT_NE(s.rfind("\r[###"), std::string::npos);
}

TEST(Progress, PlainOutputIsOneLinePerFileWhenFew) {
    Capture out;
    Progress p(2, 300, false, out.f);
    p.add_bytes(100);
    p.file_done("a.html", 100);
    p.add_bytes(200);
    p.file_done("b/c.css", 200);
    p.finish();
    EXPECT_EQ(out.text(), "uploaded a.html (100 B) 1/2\nuploaded b/c.css (200 B) 2/2\n");
}

TEST(Progress, PlainOutputEveryTenPercentWhenMany) {
    Capture out;
    Progress p(200, 200, false, out.f);
    for (int i = 0; i < 200; ++i) {
        p.add_bytes(1);
        p.file_done("f" + std::to_string(i), 1);
    }
    std::string s = out.text();
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 10);
    EXPECT_NE(s.find("20/200 files"), std::string::npos);
    EXPECT_NE(s.find("200/200 files"), std::string::npos);
    EXPECT_EQ(s.find('\r'), std::string::npos);
}

TEST(Progress, RetriedBytesAreTakenBack) {
    Capture out;
    auto t = Progress::Clock::time_point{};
    Progress p(1, 100, true, out.f, [&] { return t; });
    p.add_bytes(80);
    p.add_bytes(-80);
    t += 1s;
    p.add_bytes(0);
    std::string s = out.text();
    EXPECT_NE(s.rfind("0/1 files 0/100 B"), std::string::npos) << s;
}

}  // namespace
}  // namespace moat::cli

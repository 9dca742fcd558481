// Renewal timing and backoff (tls.md §3.2-3.4): never a fixed 90 days.
#include "acme/renewal.h"

#include <gtest/gtest.h>

namespace moat::acme {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kT0 = std::chrono::system_clock::from_time_t(1'700'000'000);
constexpr auto kDay = hours(24);

TEST(RenewalTime, ThirdOfLifetimeLeftForOddLifetimes) {
    for (auto life : {kDay * 90, kDay * 45, kDay * 64, kDay * 200, kDay * 11 + hours(5)}) {
        TimePoint t = renewal_time(kT0, kT0 + life, 0, 0.0);
        EXPECT_EQ(kT0 + life - t, std::chrono::duration_cast<TimePoint::duration>(life) / 3)
            << std::chrono::duration_cast<hours>(life).count() << "h";
    }
}

TEST(RenewalTime, HalfForShortLivedCertificates) {
    // Let's Encrypt "shortlived" (~6 days), a one-day pebble certificate, five minutes.
    for (auto life :
         std::initializer_list<TimePoint::duration>{kDay * 6, kDay, minutes(5), kDay * 10}) {
        TimePoint t = renewal_time(kT0, kT0 + life, 0, 0.0);
        EXPECT_EQ(t, kT0 + life / 2);
    }
}

TEST(RenewalTime, ConfiguredFractionAndJitter) {
    TimePoint t = renewal_time(kT0, kT0 + kDay * 90, 0.5, 0.0);
    EXPECT_EQ(t, kT0 + kDay * 45);
    // Jitter only ever moves earlier, by at most min(1 h, lifetime / 100).
    TimePoint j = renewal_time(kT0, kT0 + kDay * 90, 0.5, 0.999);
    EXPECT_LT(j, t);
    EXPECT_GE(j, t - hours(1));
    TimePoint s = renewal_time(kT0, kT0 + minutes(100), 0, 0.999);
    EXPECT_GE(s, kT0 + minutes(50) - minutes(1));
    // Nonsense fractions fall back to the default.
    EXPECT_EQ(renewal_time(kT0, kT0 + kDay * 90, 1.5, 0), renewal_time(kT0, kT0 + kDay * 90, 0, 0));
}

TEST(RenewalTime, BrokenValidityRenewsNow) {
    EXPECT_EQ(renewal_time(kT0, kT0 - hours(1), 0, 0.5), kT0);
}

TEST(AriRenewalTime, InsideWindowAndCappedByEmergency) {
    RenewalWindow w{kT0 + kDay * 60, kT0 + kDay * 62, {}};
    TimePoint a = ari_renewal_time(w, kT0, kT0 + kDay * 90, 0.0);
    TimePoint b = ari_renewal_time(w, kT0, kT0 + kDay * 90, 0.75);
    EXPECT_EQ(a, w.start);
    EXPECT_EQ(b, w.start + hours(36));
    EXPECT_LT(ari_renewal_time(w, kT0, kT0 + kDay * 90, 0.9999), w.end);
    // A window past the certificate's emergency limit (lifetime / 50 left) is clamped.
    RenewalWindow late{kT0 + kDay * 89, kT0 + kDay * 95, {}};
    EXPECT_LE(ari_renewal_time(late, kT0, kT0 + kDay * 90, 0.5),
              kT0 + kDay * 90 - (kDay * 90) / 50);
    // Mass revocation: a window already in the past means "now" to the caller.
    RenewalWindow past{kT0 - kDay, kT0 - hours(1), {}};
    EXPECT_LT(ari_renewal_time(past, kT0 - kDay * 30, kT0 + kDay * 60, 0.5), kT0);
}

TEST(Backoff, GrowsAndCapsAtSixHours) {
    EXPECT_EQ(backoff(1, 0.5), seconds(60));
    EXPECT_EQ(backoff(2, 0.5), seconds(120));
    EXPECT_EQ(backoff(3, 0.5), seconds(300));
    seconds prev(0);
    for (int i = 1; i < 40; ++i) {
        seconds b = backoff(i, 0.5);
        EXPECT_GE(b, prev);
        EXPECT_LE(b, hours(6));
        prev = b;
    }
    EXPECT_EQ(backoff(100, 0.5), hours(6));
    EXPECT_LE(backoff(100, 0.999), hours(6));
    EXPECT_GE(backoff(1, 0.0), seconds(54));  // -10%
}

TEST(Backoff, RetryAfterWinsWhenLongerButIsClamped) {
    EXPECT_EQ(backoff(1, 0.5, seconds(3600)), seconds(3600));
    EXPECT_EQ(backoff(10, 0.5, seconds(10)), hours(6));
    EXPECT_EQ(backoff(1, 0.5, seconds(10'000'000)), seconds(86400));
}

TEST(DaysLeft, FractionalAndNegative) {
    EXPECT_DOUBLE_EQ(days_left(kT0, kT0 + hours(36)), 1.5);
    EXPECT_DOUBLE_EQ(days_left(kT0, kT0 - hours(12)), -0.5);
}

}  // namespace
}  // namespace moat::acme

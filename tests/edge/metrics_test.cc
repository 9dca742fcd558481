#include "edge/metrics.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace moat::edge {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, RendersCountersWithHelpTypeAndLabels) {
    Metrics m;
    SiteCounters* a = m.site("example.com", "prod");
    a->count_request(200, 1000);
    a->count_request(204, 0);
    a->count_request(404, 50);
    a->count_request(0, 0);  // client left: code_class 000
    m.other()->count_request(421, 10);
    m.connection_opened();
    m.connection_opened();
    m.connection_closed();
    m.connection_shed();
    m.tls_handshake_ok();
    m.tls_handshake_failed(TlsFailure::kUnknownName);
    m.cache_hit();
    m.cache_miss();
    m.cache_miss();
    m.set_access_log_dropped([] { return std::uint64_t{7}; });

    std::string out = m.render();
    EXPECT_TRUE(has_line(out,
                         "# HELP moat_requests_total Requests answered, by site, environment and "
                         "status class (000: the client left before the response started)."));
    EXPECT_TRUE(has_line(out, "# TYPE moat_requests_total counter"));
    EXPECT_TRUE(
        has_line(out, R"(moat_requests_total{site="example.com",env="prod",code_class="2xx"} 2)"));
    EXPECT_TRUE(
        has_line(out, R"(moat_requests_total{site="example.com",env="prod",code_class="4xx"} 1)"));
    EXPECT_TRUE(
        has_line(out, R"(moat_requests_total{site="example.com",env="prod",code_class="000"} 1)"));
    EXPECT_TRUE(
        has_line(out, R"(moat_requests_total{site="example.com",env="prod",code_class="5xx"} 0)"));
    EXPECT_TRUE(has_line(out, R"(moat_requests_total{site="_other",code_class="4xx"} 1)"));
    EXPECT_TRUE(has_line(out, "# TYPE moat_response_bytes_total counter"));
    EXPECT_TRUE(has_line(out, R"(moat_response_bytes_total{site="example.com",env="prod"} 1050)"));
    EXPECT_TRUE(has_line(out, "# TYPE moat_open_connections gauge"));
    EXPECT_TRUE(has_line(out, "moat_open_connections 1"));
    EXPECT_TRUE(has_line(out, "moat_connections_total 2"));
    EXPECT_TRUE(has_line(out, "moat_connections_shed_total 1"));
    EXPECT_TRUE(has_line(out, "moat_tls_handshakes_total 1"));
    EXPECT_TRUE(has_line(out, R"(moat_tls_handshake_failures_total{reason="unknown_name"} 1)"));
    EXPECT_TRUE(has_line(out, R"(moat_tls_handshake_failures_total{reason="timeout"} 0)"));
    EXPECT_TRUE(has_line(out, "moat_cache_hits_total 1"));
    EXPECT_TRUE(has_line(out, "moat_cache_misses_total 2"));
    EXPECT_TRUE(has_line(out, "# TYPE moat_access_log_dropped_total counter"));
    EXPECT_TRUE(has_line(out, "moat_access_log_dropped_total 7"));
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.back(), '\n');

    // Every sample line belongs to a family announced just before by HELP and TYPE.
    std::string family;
    std::size_t start = 0;
    while (start < out.size()) {
        std::size_t end = out.find('\n', start);
        std::string line = out.substr(start, end - start);
        start = end + 1;
        if (line.starts_with("# HELP ")) continue;
        if (line.starts_with("# TYPE ")) {
            family = line.substr(7, line.find(' ', 7) - 7);
            continue;
        }
        EXPECT_TRUE(line.starts_with(family + "{") || line.starts_with(family + " ")) << line;
    }
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
    Metrics m;
    m.site("we\"ird\\site\nname", "")->count_request(200, 1);
    ASSERT_TRUE(m.add_gauge("moat_test_value", "Help with \\ backslash\nand newline \"kept\".",
                            [] { return 1.5; }, {{"path", "C:\\dir \"x\"\n"}}));
    std::string out = m.render();
    EXPECT_TRUE(
        has_line(out, R"(moat_requests_total{site="we\"ird\\site\nname",code_class="2xx"} 1)"))
        << out;
    EXPECT_TRUE(
        has_line(out, R"(# HELP moat_test_value Help with \\ backslash\nand newline "kept".)"));
    EXPECT_TRUE(has_line(out, "# TYPE moat_test_value gauge"));
    EXPECT_TRUE(has_line(out, R"(moat_test_value{path="C:\\dir \"x\"\n"} 1.5)"));
}

TEST(Metrics, SitePointersAreStableAndUnknownSitesAreBounded) {
    Metrics m(2);
    SiteCounters* a = m.site("a.test", "prod");
    EXPECT_EQ(m.site("a.test", "prod"), a);
    SiteCounters* a_staging = m.site("a.test", "staging");
    EXPECT_NE(a_staging, a);
    // A third pair exceeds max_sites: it shares _other instead of adding series.
    EXPECT_EQ(m.site("c.test", "prod"), m.other());
    EXPECT_EQ(m.site("a.test", "prod"), a);
    EXPECT_EQ(m.other()->name(), "_other");
    std::string out = m.render();
    EXPECT_EQ(out.find("c.test"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsSumExactly) {
    Metrics m;
    SiteCounters* s = m.site("a.test", "prod");
    constexpr int kThreads = 8, kPerThread = 100000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kPerThread; ++i) {
                s->count_request(i % 2 ? 200 : 503, 3);
                m.connection_opened();
                m.connection_closed();
                m.cache_hit();
            }
        });
    }
    // Scrapes while counting must be safe (TSan) and never see more than was counted.
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(m.render().empty());
    for (auto& th : threads) th.join();
    constexpr std::uint64_t kTotal = std::uint64_t{kThreads} * kPerThread;
    EXPECT_EQ(s->requests(2), kTotal / 2);
    EXPECT_EQ(s->requests(5), kTotal / 2);
    EXPECT_EQ(s->response_bytes(), 3 * kTotal);
    std::string out = m.render();
    EXPECT_TRUE(has_line(out, "moat_connections_total " + std::to_string(kTotal)));
    EXPECT_TRUE(has_line(out, "moat_open_connections 0"));
    EXPECT_TRUE(has_line(out, "moat_cache_hits_total " + std::to_string(kTotal)));
    EXPECT_TRUE(has_line(out, R"(moat_requests_total{site="a.test",env="prod",code_class="2xx"} )" +
                                  std::to_string(kTotal / 2)));
}

TEST(Metrics, ExtensionSeriesShareAFamilyAndRejectConflicts) {
    Metrics m;
    ASSERT_TRUE(m.add_gauge("moat_cert_expiry_seconds", "Seconds until a certificate expires.",
                            [] { return 86400.0; }, {{"name", "a.test"}}));
    ASSERT_TRUE(m.add_gauge("moat_cert_expiry_seconds", "Seconds until a certificate expires.",
                            [] { return 60.25; }, {{"name", "b.test"}}));
    ASSERT_TRUE(m.add_counter("moat_acme_renewals_total", "Renewals.", [] { return 3.0; }));
    ASSERT_TRUE(m.add_gauge("moat_weird", "Special values.",
                            [] { return std::numeric_limits<double>::infinity(); }));

    auto dup = m.add_gauge("moat_cert_expiry_seconds", "Seconds until a certificate expires.",
                           [] { return 0.0; }, {{"name", "a.test"}});
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, Errc::kConflict);
    auto other_type = m.add_counter("moat_cert_expiry_seconds",
                                    "Seconds until a certificate expires.", [] { return 0.0; });
    EXPECT_FALSE(other_type);
    auto builtin = m.add_gauge("moat_requests_total", "x", [] { return 0.0; });
    ASSERT_FALSE(builtin);
    EXPECT_EQ(builtin.error().code, Errc::kConflict);
    auto bad_name = m.add_gauge("moat-bad", "x", [] { return 0.0; });
    ASSERT_FALSE(bad_name);
    EXPECT_EQ(bad_name.error().code, Errc::kInvalidArgument);
    EXPECT_FALSE(m.add_gauge("moat_ok", "x", [] { return 0.0; }, {{"__reserved", "v"}}));
    EXPECT_FALSE(m.add_gauge("moat_ok", "x", [] { return 0.0; }, {{"a", "1"}, {"a", "2"}}));
    EXPECT_FALSE(m.add_gauge("moat_ok", "x", nullptr));

    std::string out = m.render();
    EXPECT_TRUE(has_line(out, "# TYPE moat_cert_expiry_seconds gauge"));
    EXPECT_TRUE(has_line(out, R"(moat_cert_expiry_seconds{name="a.test"} 86400)"));
    EXPECT_TRUE(has_line(out, R"(moat_cert_expiry_seconds{name="b.test"} 60.25)"));
    EXPECT_TRUE(has_line(out, "# TYPE moat_acme_renewals_total counter"));
    EXPECT_TRUE(has_line(out, "moat_acme_renewals_total 3"));
    EXPECT_TRUE(has_line(out, "moat_weird +Inf"));
    // One HELP/TYPE pair per family, however many series it has.
    std::size_t n = 0;
    for (std::size_t p = 0; (p = out.find("# TYPE moat_cert_expiry_seconds", p)) != out.npos; ++p)
        ++n;
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(out.find("moat_ok"), std::string::npos);
}

}  // namespace
}  // namespace moat::edge

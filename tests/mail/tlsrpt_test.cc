#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mail/tlsrpt_handler.h"
#include "mail/tlsrpt_report.h"
#include "mail/tlsrpt_store.h"

namespace moat::mail {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(__FILE__).parent_path().parent_path() / "data" / "mail" / "tlsrpt";

std::string read(const std::string& name) {
    std::ifstream in(kData / name, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string gzip(std::string_view data) {
    z_stream zs{};
    deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, data.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

struct TempDir {
    fs::path path = fs::temp_directory_path() /
                    ("moat-tlsrpt-" + std::to_string(::getpid()) + "-" +
                     std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
    std::size_t files() const {
        std::size_t n = 0;
        for (auto& e : fs::recursive_directory_iterator(path)) n += e.is_regular_file();
        return n;
    }
};

TEST(ParseDatetime, ToleratesRealWorldForms) {
    EXPECT_EQ(*parse_datetime("2016-04-01T00:00:00Z"), 1459468800);
    EXPECT_EQ(*parse_datetime("2016-04-01T00:00:00"), 1459468800);  // Microsoft: no zone
    EXPECT_EQ(*parse_datetime("2016-04-01T02:00:00+02:00"), 1459468800);
    EXPECT_EQ(*parse_datetime("2016-04-01T00:00:00.123Z"), 1459468800);
    EXPECT_FALSE(parse_datetime("yesterday"));
    EXPECT_FALSE(parse_datetime("2016-13-01T00:00:00Z"));
    EXPECT_FALSE(parse_datetime("2016-04-01T00:00:00Zjunk"));
    // Found by mail_input_fuzz: sscanf took signs, spaces and short years, so a report could
    // be filed under the day "465-04-01".
    for (const char* bad : {"0465-04-01T00:00:00Z", "2016-04-01T-1:00:00Z", " 2016-4-01T00:00:00Z",
                            "2016-04-01T00:00:00+2:000", "2016-04-01T00:00:00+24:00", "2016",
                            "2016-04-01T00:00", "+016-04-01T00:00:00Z"})
        EXPECT_FALSE(parse_datetime(bad)) << bad;
    EXPECT_EQ(*parse_datetime("2016-04-01 00:00:00z"), 1459468800);
}

TEST(ParseTlsRpt, RfcSampleWithMxHostAsString) {
    auto r = parse_tlsrpt(read("rfc8460.json"));
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->organization, "Company-X");
    ASSERT_EQ(r->policies.size(), 1u);
    EXPECT_EQ(r->policies[0].mx_host, std::vector<std::string>{"*.mail.company-y.example"});
    EXPECT_EQ(r->policies[0].success, 5326);
    EXPECT_EQ(r->policies[0].failures.size(), 3u);
}

TEST(ParseTlsRpt, GoogleAndMicrosoftShapes) {
    auto g = parse_tlsrpt(read("google.json"));
    ASSERT_TRUE(g) << g.error().detail;
    EXPECT_TRUE(g->policies[0].failures.empty());
    auto m = parse_tlsrpt(read("microsoft.json"));
    ASSERT_TRUE(m) << m.error().detail;
    EXPECT_EQ(m->policies[0].type, "no-policy-found");
    EXPECT_EQ(m->policies[0].failures[0].result_type, "sts-policy-fetch-error");
}

TEST(ParseTlsRpt, RefusesWhatCannotBeSummarised) {
    EXPECT_FALSE(parse_tlsrpt(read("policies_object.json")));
    EXPECT_FALSE(parse_tlsrpt("{not json"));
    EXPECT_FALSE(parse_tlsrpt("[]"));
    EXPECT_FALSE(parse_tlsrpt(std::string(100, '[') + std::string(100, ']')));
    std::string no_id = read("google.json");
    no_id.replace(no_id.find("\"report-id\""), 11, "\"report-xx\"");
    EXPECT_FALSE(parse_tlsrpt(no_id));
}

TEST(DecodeBody, GzipJsonAndLimits) {
    std::string json = read("google.json");
    EXPECT_EQ(*decode_report_body("application/tlsrpt+gzip", gzip(json), 1 << 20), json);
    EXPECT_EQ(*decode_report_body("application/tlsrpt+json", json, 1 << 20), json);
    EXPECT_EQ(*decode_report_body("application/tlsrpt+json", gzip(json), 1 << 20), json);
    EXPECT_EQ(decode_report_body("text/html", json, 1 << 20).error().code, Errc::kInvalidArgument);
    std::string gz = gzip(json);
    EXPECT_FALSE(
        decode_report_body("application/tlsrpt+gzip", gz.substr(0, gz.size() / 2), 1 << 20));
    // A bomb: 64 MiB of zeros compresses to ~64 KiB; the limit stops it.
    std::string bomb = gzip(std::string(64u << 20, '\0'));
    EXPECT_LT(bomb.size(), 100000u);
    EXPECT_EQ(decode_report_body("application/tlsrpt+gzip", bomb, 10u << 20).error().code,
              Errc::kTooLarge);
}

MailSettings settings(const fs::path& dir) {
    MailSettings s;
    MailDomain d;
    d.domain = "company-y.example";
    s.domains.push_back(d);
    s.tlsrpt_dir = dir.string();
    s.tlsrpt_max_body = 1 << 20;
    s.tlsrpt_max_inflated = 10 << 20;
    return s;
}

TEST(TlsRptReceiver, StoresDeduplicatesAndSummarises) {
    TempDir dir;
    TlsRptReceiver rx(settings(dir.path));
    EXPECT_EQ(rx.receive("application/tlsrpt+json", read("rfc8460.json")).status, 201);
    EXPECT_EQ(rx.receive("application/tlsrpt+gzip", gzip(read("rfc8460.json"))).status, 200);
    EXPECT_EQ(rx.receive("application/tlsrpt+gzip", gzip(read("google.json"))).status, 201);
    EXPECT_EQ(rx.receive("application/tlsrpt+json; charset=utf-8", read("microsoft.json")).status,
              201);
    EXPECT_EQ(dir.files(), 3u);

    auto s = TlsRptStore(dir.path.string()).summarize("company-y.example");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->total.reports, 3);
    EXPECT_EQ(s->total.success, 5326 + 42 + 7);
    EXPECT_EQ(s->total.failure, 303 + 0 + 2);
    EXPECT_EQ(s->failures_by_type["certificate-expired"], 100);
    EXPECT_EQ(s->failures_by_type["sts-policy-fetch-error"], 2);
    EXPECT_EQ(s->failures_by_mx["mx2.mail.company-y.example"], 200);
    EXPECT_EQ(s->by_organization["Google Inc."].success, 42);
    EXPECT_EQ(s->by_day["2016-04-01"].failure, 303);
    std::string text = summary_text(*s);
    EXPECT_NE(text.find("3 report(s)"), std::string::npos) << text;
    EXPECT_NE(summary_json(*s).find("\"certificate-expired\": 100"), std::string::npos);
}

TEST(TlsRptReceiver, ReloadChangesThePolicyDomains) {
    TempDir dir;
    MailSettings none = settings(dir.path);
    none.domains.clear();
    TlsRptReceiver rx(none);
    // No policy domain of this server: refused, nothing stored.
    EXPECT_EQ(rx.receive("application/tlsrpt+json", read("rfc8460.json")).status, 403);
    EXPECT_EQ(dir.files(), 0u);
    rx.set_domains(settings(dir.path));  // a reload adds company-y.example
    EXPECT_EQ(rx.receive("application/tlsrpt+json", read("rfc8460.json")).status, 201);
    rx.set_domains(none);  // and one that removes it
    EXPECT_EQ(rx.receive("application/tlsrpt+gzip", gzip(read("google.json"))).status, 403);
    EXPECT_EQ(dir.files(), 1u);
}

TEST(TlsRptReceiver, RefusalsChangeNothing) {
    TempDir dir;
    TlsRptReceiver rx(settings(dir.path));
    EXPECT_EQ(rx.receive("application/tlsrpt+gzip", gzip(std::string(64u << 20, ' '))).status, 413);
    EXPECT_EQ(rx.receive("application/tlsrpt+json", "{\"broken\": ").status, 400);
    EXPECT_EQ(rx.receive("application/tlsrpt+json", std::string(2u << 20, ' ')).status, 413);
    EXPECT_EQ(rx.receive("text/plain", read("google.json")).status, 415);
    EXPECT_EQ(rx.receive("application/tlsrpt+json", read("policies_object.json")).status, 400);
    std::string other = read("google.json");
    other.replace(other.find("\"policy-domain\":\"company-y.example\""), 35,
                  "\"policy-domain\":\"elsewhere.example\"");
    EXPECT_EQ(rx.receive("application/tlsrpt+json", other).status, 403);
    EXPECT_EQ(dir.files(), 0u);
}

}  // namespace
}  // namespace moat::mail

// libFuzzer target for what moat reads from other people's mail domains and mail servers: the
// body of a TLS-RPT report POSTed to moat's receiver by anyone on the internet (RFC 8460 §5.3:
// gzip or JSON, mail/tlsrpt_report.cc) and its summary, and what `moat check mail` fetches
// from a domain under test: its MTA-STS policy body and its _mta-sts / _smtp._tls TXT records
// (mail/policy_parser.cc). The first byte picks the parser, the rest is its input.
// Besides memory errors it checks, and aborts when one breaks:
// - inflation never yields more than its limit (a gzip bomb costs nothing);
// - a report that parses has a report-id and is counted exactly once into a summary of its
//   own domains, with the same name (hash) every time;
// - a policy judged valid has all three fields, a known mode and max_age in RFC 8461's range,
//   and a valid record has what a sender needs (an id; at least one rua).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mail/policy_parser.h"
#include "mail/tlsrpt_report.h"
#include "mail/tlsrpt_summary.h"

namespace {

using namespace moat::mail;

constexpr std::size_t kMaxInflated = 256 * 1024;

void report(std::string_view in, bool gzip_type) {
    auto body = decode_report_body(gzip_type ? "application/tlsrpt+gzip" : "application/json", in,
                                   kMaxInflated);
    if (!body) return;
    FUZZ_CHECK(body->size() <= kMaxInflated || !gzip_type);
    auto r = parse_tlsrpt(*body);
    if (!r) return;
    FUZZ_CHECK(!r->report_id.empty());
    FUZZ_CHECK(tlsrpt_report_hash(*r) == tlsrpt_report_hash(*r));
    FUZZ_CHECK(tlsrpt_report_hash(*r).size() == 32);
    FUZZ_CHECK(tlsrpt_day(*r).size() == 10);
    for (const auto& p : r->policies) {
        TlsRptSummary s;
        s.domain = p.domain;
        add_to_summary(s, *r);
        FUZZ_CHECK(s.total.reports == 1);
        (void)summary_text(s);
        (void)summary_json(s);
    }
}

void policy(std::string_view in) {
    ParsedPolicy p = parse_policy(in);
    if (!p.valid) return;
    FUZZ_CHECK(p.version && *p.version == "STSv1");
    FUZZ_CHECK(p.mode && (*p.mode == "enforce" || *p.mode == "testing" || *p.mode == "none"));
    FUZZ_CHECK(p.max_age && *p.max_age >= 0 && *p.max_age <= 31557600);
    FUZZ_CHECK(*p.mode == "none" || !p.mx.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 6) {
        case 0:
            report(in, true);
            break;
        case 1:
            report(in, false);
            break;
        case 2:
            policy(in);
            break;
        case 3: {
            auto r = parse_sts_record(in);
            if (r.valid) FUZZ_CHECK(!r.id.empty());
            break;
        }
        case 4: {
            auto r = parse_tlsrpt_record(in);
            if (r.valid) FUZZ_CHECK(!r.rua.empty());
            break;
        }
        case 5: {
            auto inflated = gunzip_limited(in, 4096);
            if (inflated) FUZZ_CHECK(inflated->size() <= 4096);
            (void)parse_datetime(in);
            break;
        }
    }
    return 0;
}

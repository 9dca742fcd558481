#include "mail/tlsrpt_summary.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "mail/policy_id.h"

namespace moat::mail {

std::string tlsrpt_day(const TlsRptReport& report) {
    std::time_t tt = static_cast<std::time_t>(report.start);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

std::string tlsrpt_report_hash(const TlsRptReport& report) {
    return sha256_hex(report.organization + "\n" + report.report_id).substr(0, 32);
}

void add_to_summary(TlsRptSummary& s, const TlsRptReport& r) {
    std::string day = tlsrpt_day(r);
    std::string org = r.organization.empty() ? "(unnamed)" : r.organization;
    s.total.reports++;
    s.by_day[day].reports++;
    s.by_organization[org].reports++;
    for (const auto& p : r.policies) {
        if (p.domain != s.domain) continue;
        s.total.success += p.success;
        s.total.failure += p.failure;
        s.by_day[day].success += p.success;
        s.by_day[day].failure += p.failure;
        s.by_organization[org].success += p.success;
        s.by_organization[org].failure += p.failure;
        s.by_policy_type[p.type.empty() ? "(none)" : p.type] += p.success + p.failure;
        for (const auto& f : p.failures) {
            s.failures_by_type[f.result_type.empty() ? "(unspecified)" : f.result_type] += f.count;
            s.failures_by_mx[f.receiving_mx_hostname.empty() ? "(unspecified)"
                                                             : f.receiving_mx_hostname] += f.count;
        }
    }
}

std::string summary_text(const TlsRptSummary& s) {
    std::string out = fmt::format(
        "TLS-RPT reports for {}: {} report(s), {} successful and {} failed session(s)\n", s.domain,
        s.total.reports, s.total.success, s.total.failure);
    if (s.total.reports == 0) return out;
    out += "\nBy day (UTC):\n";
    for (const auto& [k, v] : s.by_day)
        out += fmt::format("  {}  reports {:>4}  ok {:>8}  failed {:>6}\n", k, v.reports, v.success,
                           v.failure);
    out += "\nBy sending organisation:\n";
    for (const auto& [k, v] : s.by_organization)
        out += fmt::format("  {:<32} reports {:>4}  ok {:>8}  failed {:>6}\n", k, v.reports,
                           v.success, v.failure);
    if (!s.failures_by_type.empty()) {
        out += "\nFailures by type (RFC 8460 §4.4):\n";
        for (const auto& [k, v] : s.failures_by_type) out += fmt::format("  {:<32} {}\n", k, v);
    }
    if (!s.failures_by_mx.empty()) {
        out += "\nFailures by MX:\n";
        for (const auto& [k, v] : s.failures_by_mx) out += fmt::format("  {:<32} {}\n", k, v);
    }
    if (s.unreadable) out += fmt::format("\n{} stored report(s) could not be read\n", s.unreadable);
    return out;
}

std::string summary_json(const TlsRptSummary& s) {
    using nlohmann::json;
    auto counts = [](const TlsRptCounts& c) {
        return json{{"reports", c.reports}, {"success", c.success}, {"failure", c.failure}};
    };
    json j;
    j["domain"] = s.domain;
    j["total"] = counts(s.total);
    j["by_day"] = json::object();
    for (const auto& [k, v] : s.by_day) j["by_day"][k] = counts(v);
    j["by_organization"] = json::object();
    for (const auto& [k, v] : s.by_organization) j["by_organization"][k] = counts(v);
    j["failures_by_type"] = s.failures_by_type;
    j["failures_by_mx"] = s.failures_by_mx;
    j["by_policy_type"] = s.by_policy_type;
    j["unreadable"] = s.unreadable;
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace moat::mail

#pragma once
// What `moat mail reports` shows of a policy domain's TLS-RPT reports (RFC 8460 §4): totals by
// day, sending organisation, policy type, failure type and MX, built one parsed report at a
// time by whichever TlsRptSink holds them; and the naming both sinks share, so a report sent
// twice (senders retry for a day, RFC 8460 §5.3) lands on one name wherever it is kept.
// Pure functions; no I/O.

#include <cstdint>
#include <map>
#include <string>

#include "mail/tlsrpt_report.h"

namespace moat::mail {

struct TlsRptCounts {
    std::int64_t reports = 0, success = 0, failure = 0;
};

struct TlsRptSummary {
    std::string domain;
    TlsRptCounts total;
    std::map<std::string, TlsRptCounts> by_day;  // "2026-11-28" (report start, UTC)
    std::map<std::string, TlsRptCounts> by_organization;
    std::map<std::string, std::int64_t> failures_by_type;  // result-type -> sessions
    std::map<std::string, std::int64_t> failures_by_mx;    // receiving-mx-hostname -> sessions
    std::map<std::string, std::int64_t> by_policy_type;    // sts / tlsa / no-policy-found
    int unreadable = 0;                                    // stored reports that no longer parse
};

// "YYYY-MM-DD" (UTC) of the report's start: the day it is filed under.
std::string tlsrpt_day(const TlsRptReport& report);
// 32 hex digits of SHA-256(organisation "\n" report-id): RFC 8460 §4.1 makes report-id unique
// per sender, so the pair names one report however often it is sent.
std::string tlsrpt_report_hash(const TlsRptReport& report);

// Counts `report` into s (only its policies for s.domain; the report itself once).
void add_to_summary(TlsRptSummary& s, const TlsRptReport& report);

std::string summary_text(const TlsRptSummary& s);
std::string summary_json(const TlsRptSummary& s);

}  // namespace moat::mail

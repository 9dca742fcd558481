#pragma once
// Received TLS-RPT reports on disk, until the object store takes them: one JSON file per
// (policy domain, report) under <dir>/<domain>/, named by UTC start day and a hash of
// (organization, report-id), so a report sent twice (senders retry for a day, RFC 8460 §5.3)
// is stored once. Writes go to a temp file, then rename. summarize() reads a domain's folder
// back into totals by day, sending organisation, result type and MX.
// Thread-safe for concurrent add() calls (each file is created atomically); blocking I/O.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
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
    int unreadable = 0;                                    // files that no longer parse
};

class TlsRptStore {
public:
    explicit TlsRptStore(std::string dir) : dir_(std::move(dir)) {}

    enum class Added { kNew, kDuplicate };
    // Stores `json` (the report's text) under each of `domains` that the report covers.
    // kDuplicate when every one already had it. Errors: kIo.
    Result<Added> add(const TlsRptReport& report, std::string_view json,
                      const std::vector<std::string>& domains);

    Result<TlsRptSummary> summarize(const std::string& domain) const;

private:
    std::string dir_;
};

std::string summary_text(const TlsRptSummary& s);
std::string summary_json(const TlsRptSummary& s);

}  // namespace moat::mail

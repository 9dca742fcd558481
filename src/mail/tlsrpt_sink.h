#pragma once
// Where received TLS-RPT reports are kept: the object store's `logs` bucket when the server has
// a store (TlsRptBucket), else a folder under the data folder (TlsRptStore). The receiver
// writes through this interface and `moat mail reports` reads through it.
// Implementations are thread-safe for concurrent add() calls and block on I/O (call them from a
// service pool thread or the CLI, never from an edge worker).

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "mail/tlsrpt_report.h"
#include "mail/tlsrpt_summary.h"

namespace moat::mail {

class TlsRptSink {
public:
    virtual ~TlsRptSink() = default;

    enum class Added { kNew, kDuplicate };
    // Keeps `json` (the report's text, already parsed into `report`) once under each of
    // `domains` the report covers, named by tlsrpt_day() and tlsrpt_report_hash(). kDuplicate
    // when every domain already had it. Errors: kInvalidArgument (a domain that is not one),
    // kIo / the store's errors.
    virtual Result<Added> add(const TlsRptReport& report, std::string_view json,
                              const std::vector<std::string>& domains) = 0;

    // Totals of the reports kept for `domain` (lower-case); an empty summary when none.
    // Errors: kInvalidArgument (not a domain), kIo / the store's errors.
    virtual Result<TlsRptSummary> summarize(const std::string& domain) const = 0;
};

}  // namespace moat::mail

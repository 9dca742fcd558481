#pragma once
// Received TLS-RPT reports in a folder, for a server without an object store: one JSON file per
// (policy domain, report) at <dir>/<domain>/<YYYY-MM-DD>_<hash>.json (tlsrpt_summary.h names
// them), created with link() so a report sent twice is stored once even when two requests race.
// Thread-safe for concurrent add() calls; blocking file I/O.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "mail/tlsrpt_sink.h"

namespace moat::mail {

class TlsRptStore final : public TlsRptSink {
public:
    explicit TlsRptStore(std::string dir) : dir_(std::move(dir)) {}

    Result<Added> add(const TlsRptReport& report, std::string_view json,
                      const std::vector<std::string>& domains) override;
    Result<TlsRptSummary> summarize(const std::string& domain) const override;

private:
    std::string dir_;
};

}  // namespace moat::mail

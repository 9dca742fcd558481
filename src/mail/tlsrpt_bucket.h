#pragma once
// Received TLS-RPT reports in the object store, beside the seed's other logs: one object per
// (policy domain, report) at logs/TLSRPT/<domain>/<YYYY-MM-DD>/<hash>.json (day and hash from
// tlsrpt_summary.h), Content-Type application/tlsrpt+json, so the `logs` bucket's lifecycle
// rules (365 days by default) expire them like the access logs. Each PUT carries
// If-None-Match: * (PutOptions::if_none_match_any): of two receivers racing with one report,
// one stores it and the other sees kPreconditionFailed, which is a duplicate, not an error.
// Thread-safe (the Store is); blocks on the store's disk I/O.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "mail/tlsrpt_sink.h"
#include "store/store.h"

namespace moat::mail {

class TlsRptBucket final : public TlsRptSink {
public:
    // `store` must outlive this object (app::Runtime owns the store and stops the receiver
    // before closing it; the CLI keeps both on its stack).
    explicit TlsRptBucket(store::Store& store, std::string bucket = "logs")
        : store_(store), bucket_(std::move(bucket)) {}

    Result<Added> add(const TlsRptReport& report, std::string_view json,
                      const std::vector<std::string>& domains) override;
    // Reads every object under TLSRPT/<domain>/ (their latest versions).
    Result<TlsRptSummary> summarize(const std::string& domain) const override;

    // Whether `store` can take reports: it has the `logs` bucket (an operator may have deleted
    // it; the server and `moat mail reports` then both use the folder). Blocks briefly.
    static bool usable(store::Store& store) { return store.bucket("logs").has_value(); }
    // "TLSRPT/<domain>/<YYYY-MM-DD>/<hash>.json"
    static std::string key_for(const std::string& domain, const TlsRptReport& report);
    static constexpr std::string_view kContentType = "application/tlsrpt+json";

private:
    store::Store& store_;
    std::string bucket_;
};

}  // namespace moat::mail

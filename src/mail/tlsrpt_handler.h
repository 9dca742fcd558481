#pragma once
// The TLS-RPT receiver (RFC 8460 §5.3): an HTTPS POST endpoint for the `rua=https://...` of the
// _smtp._tls record, served by the control-plane edge::ServiceServer (request bodies never touch
// the edge's hot path). It checks the method, size and Content-Type, decodes (gzip with a
// decompression limit), parses tolerantly, and stores the report once per (organisation,
// report-id) for the configured policy domains it covers, through a TlsRptSink (the store's
// `logs` bucket, or the report folder). Answers: 201 stored, 200 duplicate,
// 400 malformed, 403 no configured domain, 405 not POST, 413 too large, 415 wrong type.
// Nothing is stored unless the whole report parsed. Runs on a ServiceServer pool thread; blocks.

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "edge/service.h"
#include "mail/settings.h"
#include "mail/tlsrpt_sink.h"

namespace moat::mail {

// The transport-independent part, unit-tested without sockets.
struct TlsRptOutcome {
    int status = 500;
    std::string message;
};
class TlsRptReceiver {
public:
    // Keeps reports in `sink`; null: in the folder settings.tlsrpt_dir (TlsRptStore).
    explicit TlsRptReceiver(const MailSettings& settings,
                            std::unique_ptr<TlsRptSink> sink = nullptr);
    TlsRptOutcome receive(std::string_view content_type, std::string_view body);
    std::uint64_t max_body() const { return max_body_; }
    // A reload: reports for the new config's policy domains are taken from now on.
    void set_domains(const MailSettings& settings);

private:
    using Domains = std::set<std::string>;
    // Swapped whole on reload while pool threads read it.
    std::atomic<std::shared_ptr<const Domains>> domains_;
    std::unique_ptr<TlsRptSink> sink_;
    std::uint64_t max_body_, max_inflated_;
};

class TlsRptHandler : public edge::ServiceHandler {
public:
    TlsRptHandler(const MailSettings& settings, std::unique_ptr<TlsRptSink> sink)
        : receiver_(settings, std::move(sink)) {}
    void handle(edge::ServiceRequest& req, edge::ServiceResponse& res) override;
    void set_domains(const MailSettings& settings) { receiver_.set_domains(settings); }

private:
    TlsRptReceiver receiver_;
};

}  // namespace moat::mail

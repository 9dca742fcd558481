#include "mail/tlsrpt_handler.h"

#include <algorithm>

#include "core/log.h"
#include "mail/tlsrpt_store.h"

namespace moat::mail {

TlsRptReceiver::TlsRptReceiver(const MailSettings& s, std::unique_ptr<TlsRptSink> sink)
    : sink_(sink ? std::move(sink) : std::make_unique<TlsRptStore>(s.tlsrpt_dir)),
      max_body_(s.tlsrpt_max_body),
      max_inflated_(s.tlsrpt_max_inflated) {
    set_domains(s);
}

void TlsRptReceiver::set_domains(const MailSettings& s) {
    auto d = std::make_shared<Domains>();
    for (const auto& m : s.domains) d->insert(m.domain);
    domains_.store(std::move(d));
}

TlsRptOutcome TlsRptReceiver::receive(std::string_view content_type, std::string_view body) {
    if (body.size() > max_body_) return {413, "the report is larger than allowed"};
    auto text = decode_report_body(content_type, body, max_inflated_);
    if (!text) {
        if (text.error().code == Errc::kTooLarge) return {413, text.error().detail};
        bool type = text.error().detail.rfind("unsupported Content-Type", 0) == 0;
        return {type ? 415 : 400, text.error().detail};
    }
    auto report = parse_tlsrpt(*text);
    if (!report) return {400, report.error().detail};
    std::vector<std::string> mine;
    const auto domains = domains_.load();
    for (const auto& p : report->policies)
        if (domains->count(p.domain) && std::find(mine.begin(), mine.end(), p.domain) == mine.end())
            mine.push_back(p.domain);
    if (mine.empty()) return {403, "the report covers no policy domain of this server"};
    auto added = sink_->add(*report, *text, mine);
    if (!added) {
        core::logger("mail")->error("tlsrpt store failed: {}", added.error().detail);
        return {500, "the report could not be stored"};
    }
    if (*added == TlsRptSink::Added::kDuplicate) return {200, "duplicate report, already stored"};
    core::logger("mail")->info("tlsrpt report stored org=\"{}\" id=\"{}\" domains={}",
                               report->organization, report->report_id, mine.size());
    return {201, "report stored"};
}

void TlsRptHandler::handle(edge::ServiceRequest& req, edge::ServiceResponse& res) {
    const edge::ServiceHeaders text{{"content-type", "text/plain; charset=utf-8"},
                                    {"cache-control", "no-store"}};
    auto reply = [&](int status, const std::string& msg) {
        (void)res.send(status, text, msg + "\n");
    };
    if (req.method != "POST") {
        edge::ServiceHeaders h = text;
        h.emplace_back("allow", "POST");
        (void)res.send(405, h, "TLS-RPT reports are POSTed here (RFC 8460 §5.3)\n");
        return;
    }
    if (auto len = req.body->length(); len && *len > receiver_.max_body())
        return reply(413, "the report is larger than allowed");
    std::string body;
    char buf[16384];
    for (;;) {
        auto n = req.body->read(buf, sizeof buf);
        if (!n) return reply(400, "the body could not be read: " + n.error().detail);
        if (*n == 0) break;
        body.append(buf, *n);
        if (body.size() > receiver_.max_body())
            return reply(413, "the report is larger than allowed");
    }
    auto out = receiver_.receive(req.header("content-type"), body);
    reply(out.status, out.message);
}

}  // namespace moat::mail

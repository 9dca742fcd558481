#include "mail/tlsrpt_service.h"

#include <fmt/format.h>

#include "core/log.h"
#include "mail/tlsrpt_bucket.h"
#include "mail/tlsrpt_handler.h"
#include "tls/server_context.h"

namespace moat::mail {

Result<std::unique_ptr<TlsRptService>> TlsRptService::start(
    const MailSettings& settings, const tls::TlsSettings& tls,
    std::shared_ptr<const tls::CertTable> certs, store::Store* store) {
    if (settings.tlsrpt_listen.empty()) return std::unique_ptr<TlsRptService>();
    std::unique_ptr<TlsRptService> svc(new TlsRptService());
    auto ctx = tls::ServerContext::create(tls);
    if (!ctx) return ctx.error();
    svc->tls_ = std::move(*ctx);
    svc->tls_->set_certs(std::move(certs));
    svc->tls_->offer_http11_only();
    edge::ServiceSettings es;
    es.name = "tlsrpt";
    es.listen = settings.tlsrpt_listen;
    es.max_connections = 32;
    // Senders post one report per domain per day: short deadlines keep slow peers cheap.
    es.header_timeout = std::chrono::milliseconds(10000);
    es.io_timeout = std::chrono::milliseconds(20000);
    std::unique_ptr<TlsRptSink> sink;
    if (store) sink = std::make_unique<TlsRptBucket>(*store);
    svc->handler_ = std::make_shared<TlsRptHandler>(settings, std::move(sink));
    auto server = edge::ServiceServer::create(es, svc->tls_, svc->handler_);
    if (!server)
        return make_error(server.error().code, "tlsrpt listener: " + server.error().detail);
    svc->server_ = std::move(*server);
    svc->server_->start();
    core::logger("mail")->info("tls-rpt receiver listening on {} into {}",
                               fmt::join(settings.tlsrpt_listen, ", "),
                               store ? "logs/TLSRPT/" : settings.tlsrpt_dir);
    return svc;
}

TlsRptService::~TlsRptService() { stop(); }

void TlsRptService::set_domains(const MailSettings& settings) {
    if (handler_) handler_->set_domains(settings);
}

void TlsRptService::set_certs(std::shared_ptr<const tls::CertTable> certs) {
    tls_->set_certs(std::move(certs));
}

void TlsRptService::stop() {
    if (stopped_) return;
    stopped_ = true;
    if (server_) server_->stop();
}

std::vector<std::uint16_t> TlsRptService::ports() const {
    return server_ ? server_->ports() : std::vector<std::uint16_t>{};
}

}  // namespace moat::mail

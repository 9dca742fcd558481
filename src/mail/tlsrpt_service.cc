#include "mail/tlsrpt_service.h"

#include <fmt/format.h>

#include <algorithm>

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
    std::unique_ptr<TlsRptSink> sink;
    if (store) sink = std::make_unique<TlsRptBucket>(*store);
    svc->handler_ = std::make_shared<TlsRptHandler>(settings, std::move(sink));
    MOAT_TRY(svc->set_listen(settings.tlsrpt_listen));
    core::logger("mail")->info("tls-rpt receiver listening on {} into {}",
                               fmt::join(settings.tlsrpt_listen, ", "),
                               store ? "logs/TLSRPT/" : settings.tlsrpt_dir);
    return svc;
}

TlsRptService::~TlsRptService() { stop(); }

Result<std::unique_ptr<edge::ServiceServer>> TlsRptService::listen_on(
    const std::string& address) const {
    edge::ServiceSettings es;
    es.name = "tlsrpt";
    es.listen = {address};
    es.max_connections = 32;
    // Senders post one report per domain per day: short deadlines keep slow peers cheap.
    es.header_timeout = std::chrono::milliseconds(10000);
    es.io_timeout = std::chrono::milliseconds(20000);
    auto server = edge::ServiceServer::create(es, tls_, handler_);
    if (!server)
        return make_error(server.error().code, "tlsrpt listener: " + server.error().detail);
    return server;
}

Result<void> TlsRptService::set_listen(const std::vector<std::string>& listen) {
    std::lock_guard lock(mu_);
    if (stopped_) return {};
    auto find = [](auto& servers, const std::string& a) {
        return std::find_if(servers.begin(), servers.end(),
                            [&](const auto& s) { return s.first == a; });
    };
    // Bind every new address first: one that fails leaves the running listeners as they were
    // (the new ones bound so far close with `next` going out of scope).
    decltype(servers_) next;
    for (const auto& a : listen) {
        if (find(next, a) != next.end()) continue;
        if (auto old = find(servers_, a); old != servers_.end()) {
            next.emplace_back(a, nullptr);  // kept: moved over below
            continue;
        }
        auto server = listen_on(a);
        if (!server) return server.error();
        next.emplace_back(a, std::move(*server));
    }
    for (auto& [a, server] : next) {
        if (server) {
            server->start();
            continue;
        }
        server = std::move(find(servers_, a)->second);
    }
    std::swap(servers_, next);
    // `next` now holds the removed listeners (and empty slots of the kept ones): stop them
    // only now that every new one accepts.
    for (auto& [a, server] : next) {
        if (!server) continue;
        server->stop();
        core::logger("mail")->info("tls-rpt receiver stopped listening on {}", a);
    }
    return {};
}

void TlsRptService::set_domains(const MailSettings& settings) {
    if (handler_) handler_->set_domains(settings);
}

void TlsRptService::set_certs(std::shared_ptr<const tls::CertTable> certs) {
    tls_->set_certs(std::move(certs));
}

void TlsRptService::stop() {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [a, server] : servers_) server->stop();
}

std::vector<std::uint16_t> TlsRptService::ports() const {
    std::lock_guard lock(mu_);
    std::vector<std::uint16_t> out;
    for (const auto& [a, server] : servers_)
        for (auto p : server->ports()) out.push_back(p);
    return out;
}

}  // namespace moat::mail

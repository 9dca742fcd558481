#include "app/s3_service.h"

#include <fmt/format.h>

#include "app/service_tls.h"
#include "core/log.h"

namespace moat::app {

Result<std::unique_ptr<S3Service>> S3Service::start(const config::Config& cfg, tls::InternalCa& ca,
                                                    store::Store& store,
                                                    s3::S3Handler::OnWrite on_write) {
    if (!cfg.s3.enabled) return std::unique_ptr<S3Service>();
    std::unique_ptr<S3Service> svc(new S3Service());

    auto ctx = service_tls(cfg, cfg.s3.hosts, cfg.s3.listen, true, ca);
    if (!ctx) return make_error(ctx.error().code, "s3 certificate: " + ctx.error().detail);
    svc->tls_ = std::move(*ctx);

    // Server access logs of `content` go to `logs` under S3/content/, as the seed configures its
    // bucket logging; `logs` itself is not logged (a log of the log would feed itself).
    s3::ServerAccessLogSettings ls;
    if (store.bucket("content") && store.bucket("logs"))
        ls.targets.push_back({"content", "logs", "S3/content/"});
    ls.flush_interval = cfg.s3.access_log_flush;
    svc->access_log_ = std::make_unique<s3::ServerAccessLog>(store, std::move(ls));
    svc->access_log_->start();
    svc->handler_ = std::make_shared<s3::S3Handler>(store, cfg.s3, svc->access_log_.get());
    if (on_write) svc->handler_->set_on_write(std::move(on_write));
    edge::ServiceSettings es;
    es.name = "s3";
    es.listen = cfg.s3.listen;
    es.max_connections = cfg.s3.max_connections;
    auto server = edge::ServiceServer::create(es, svc->tls_, svc->handler_);
    if (!server) return make_error(server.error().code, "s3 listener: " + server.error().detail);
    svc->server_ = std::move(*server);
    svc->server_->start();
    core::logger("s3")->info("s3 api listening on {} (hosts {})", fmt::join(cfg.s3.listen, ", "),
                             fmt::join(cfg.s3.hosts, ", "));
    return svc;
}

S3Service::~S3Service() { stop(); }

void S3Service::stop() {
    if (stopped_) return;
    stopped_ = true;
    // Stop taking requests before the store they use goes away.
    if (server_) server_->stop();
    if (access_log_) access_log_->stop();
}

std::vector<std::uint16_t> S3Service::ports() const {
    return server_ ? server_->ports() : std::vector<std::uint16_t>{};
}

}  // namespace moat::app

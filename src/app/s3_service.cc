#include "app/s3_service.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/log.h"
#include "tls/build_cert_table.h"

namespace moat::app {
namespace {

tls::TlsSettings s3_tls(const config::Config& cfg) {
    tls::TlsSettings t = cfg.tls;
    t.certs.clear();
    tls::CertSpec spec;
    spec.source = tls::CertSource::kInternal;
    for (const auto& h : cfg.s3.hosts) spec.names.push_back(h);
    // Virtual-host-style requests name "<bucket>.<host>". A wildcard stands for one label
    // (RFC 6125 §6.4.3), so bucket names with dots still need path-style addressing; and
    // clients refuse wildcards directly under a single label ("*.localhost"), so those hosts
    // get none (use path style, or name the bucket host in [s3] hosts).
    for (const auto& h : cfg.s3.hosts)
        if (h.find(':') == std::string::npos && h.find('.') != std::string::npos &&
            !(h[0] >= '0' && h[0] <= '9'))
            spec.names.push_back("*." + h);
    // Clients that dial the listen address itself ("https://127.0.0.1:9000").
    for (const auto& l : cfg.s3.listen) {
        std::string a = l.substr(0, l.rfind(':'));
        if (a.size() > 2 && a.front() == '[') a = a.substr(1, a.size() - 2);
        if (a != "0.0.0.0" && a != "::" &&
            std::find(spec.names.begin(), spec.names.end(), a) == spec.names.end())
            spec.names.push_back(a);
    }
    t.certs.push_back(std::move(spec));
    t.default_host = cfg.s3.hosts.empty() ? std::string() : cfg.s3.hosts.front();
    return t;
}

}  // namespace

store::StoreSettings S3Service::store_settings(const config::Config& cfg) {
    store::StoreSettings s = cfg.store;
    s.enabled = true;
    if (s.dir.empty()) s.dir = (std::filesystem::path(cfg.data_dir) / "store").string();
    return s;
}

Result<std::unique_ptr<S3Service>> S3Service::start(const config::Config& cfg,
                                                    tls::InternalCa& ca) {
    if (!cfg.s3.enabled) return std::unique_ptr<S3Service>();
    std::unique_ptr<S3Service> svc(new S3Service());
    auto ss = store_settings(cfg);
    auto st = store::Store::open(ss);
    if (!st) return make_error(st.error().code, "store " + ss.dir + ": " + st.error().detail);
    svc->store_ = std::move(*st);
    svc->lifecycle_ = std::make_unique<store::LifecycleJob>(*svc->store_, ss.lifecycle_interval);
    svc->lifecycle_->start();

    auto tsettings = s3_tls(cfg);
    auto certs = tls::build_cert_table(tsettings, &ca);
    if (!certs) return make_error(certs.error().code, "s3 certificate: " + certs.error().detail);
    auto ctx = tls::ServerContext::create(tsettings);
    if (!ctx) return ctx.error();
    svc->tls_ = std::move(*ctx);
    svc->tls_->set_certs(std::move(*certs));
    svc->tls_->offer_http11_only();

    // Server access logs of `content` go to `logs` under S3/content/, as the seed configures its
    // bucket logging; `logs` itself is not logged (a log of the log would feed itself).
    s3::ServerAccessLogSettings ls;
    if (svc->store_->bucket("content") && svc->store_->bucket("logs"))
        ls.targets.push_back({"content", "logs", "S3/content/"});
    ls.flush_interval = cfg.s3.access_log_flush;
    svc->access_log_ = std::make_unique<s3::ServerAccessLog>(*svc->store_, std::move(ls));
    svc->access_log_->start();
    svc->handler_ = std::make_shared<s3::S3Handler>(*svc->store_, cfg.s3, svc->access_log_.get());
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
    if (lifecycle_) lifecycle_->stop();
}

std::vector<std::uint16_t> S3Service::ports() const {
    return server_ ? server_->ports() : std::vector<std::uint16_t>{};
}

}  // namespace moat::app

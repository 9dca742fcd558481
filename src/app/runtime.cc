#include "app/runtime.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/log.h"
#include "mail/policy_router.h"
#include "mail/publish.h"
#include "mail/tlsrpt_bucket.h"
#include "mail/tlsrpt_move.h"
#include "site/site_table.h"
#include "tls/build_cert_table.h"

namespace moat::app {
namespace {

// Answers GET /metrics on the loopback admin listener with the Prometheus text format.
class MetricsHandler : public edge::Handler {
public:
    explicit MetricsHandler(edge::Metrics& m) : m_(m) {}
    void handle(const edge::Request& req, edge::Response& res) override {
        auto block = std::make_shared<edge::HeaderBlock>();
        block->add("cache-control", "no-store");
        block->add("x-content-type-options", "nosniff");
        if (req.method != edge::Method::kGet && req.method != edge::Method::kHead) {
            res.status = 405;
            block->add("allow", "GET, HEAD");
            res.no_body = false;
            res.fixed = std::move(block);
            return;
        }
        if (req.path != "/metrics") {
            res.status = 404;
            res.fixed = std::move(block);
            return;
        }
        block->add("content-type", "text/plain; version=0.0.4; charset=utf-8");
        auto body = std::make_shared<const std::string>(m_.render());
        res.body.bytes = body;
        res.body.length = body->size();
        res.fixed = std::move(block);
    }

private:
    edge::Metrics& m_;
};

bool needs_internal_ca(const tls::TlsSettings& t) {
    for (const auto& c : t.certs)
        if (c.source == tls::CertSource::kInternal) return true;
    return false;
}

std::uint16_t first_https_port(const edge::EdgeSettings& e) {
    for (const auto& l : e.https_listen)
        if (auto a = edge::parse_listen(l)) return a->port;
    return 443;
}

// Creates data_dir (and missing parents) with mode 0750: the CA and the logs go inside it, and
// their own folders are made one level deep only.
Result<void> make_data_dir(const std::string& dir) {
    if (dir.empty()) return {};
    std::filesystem::path p(dir);
    std::vector<std::filesystem::path> missing;
    for (auto q = p; !q.empty() && !std::filesystem::exists(q); q = q.parent_path()) {
        missing.push_back(q);
        if (q == q.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0750) != 0 && errno != EEXIST)
            return make_error(Errc::kIo, "mkdir " + it->string() + ": " + std::strerror(errno));
    }
    return {};
}

}  // namespace

Result<std::shared_ptr<const tls::CertTable>> Runtime::certs_for(const config::Config& cfg) {
    if (needs_internal_ca(cfg.tls) && !ca_) {
        auto ca = tls::InternalCa::open_or_create(cfg.tls.internal_ca_dir);
        if (!ca) return ca.error();
        ca_.emplace(std::move(*ca));
    }
    return tls::build_cert_table(tls_with_acme_paths(cfg), ca_ ? &*ca_ : nullptr);
}

Result<std::shared_ptr<edge::Handler>> Runtime::sites_for(const config::Config& cfg) {
    site::SiteTableOptions so;
    so.https_port = first_https_port(cfg.edge);
    so.workers = workers_;
    if (acme_) so.http_challenge = acme_->http_handler();
    if (control_) so.releases = control_->catalog();
    auto t = site::SiteTable::create(cfg.sites, so, cache_);
    if (!t) return t.error();
    std::shared_ptr<edge::Handler> sites(std::move(*t));
    if (cfg.mail.domains.empty()) return sites;
    // MTA-STS policy hosts (mta-sts.<domain>) are answered in front of the sites.
    MOAT_TRY(mail::publish_policy_ids(cfg.mail));
    return std::shared_ptr<edge::Handler>(
        std::make_shared<mail::PolicyRouter>(cfg.mail.domains, std::move(sites)));
}

Result<void> Runtime::ensure_ca(const config::Config& cfg) {
    if (ca_) return {};
    std::string dir = cfg.tls.internal_ca_dir.empty()
                          ? (std::filesystem::path(cfg.data_dir) / "ca").string()
                          : cfg.tls.internal_ca_dir;
    auto ca = tls::InternalCa::open_or_create(dir);
    if (!ca) return ca.error();
    ca_.emplace(std::move(*ca));
    return {};
}

Result<std::unique_ptr<Runtime>> Runtime::start(std::shared_ptr<const config::Config> cfg) {
    MOAT_TRY(make_data_dir(cfg->data_dir));
    std::unique_ptr<Runtime> rt(new Runtime());
    // The data folder holds the CA key and the logs: private to moat's user and group.
    std::error_code fec;
    std::filesystem::create_directories(cfg->data_dir, fec);
    if (fec) return make_error(Errc::kIo, "create " + cfg->data_dir + ": " + fec.message());
    std::filesystem::permissions(cfg->data_dir, std::filesystem::perms::others_all,
                                 std::filesystem::perm_options::remove, fec);
    rt->workers_ = cfg->edge.workers > 0
                       ? cfg->edge.workers
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    auto certs = rt->certs_for(*cfg);
    if (!certs) return certs.error();
    auto tls = tls::ServerContext::create(cfg->tls);
    if (!tls) return tls.error();
    rt->tls_ = std::move(*tls);
    rt->tls_->set_certs(std::move(*certs));

    content::FileCacheSettings fc;
    fc.workers = rt->workers_;
    // Without kernel TLS every body byte is copied into OpenSSL anyway; holding files up to
    // 8 MiB in memory saves the pread copy and page-cache walk per 16 KiB frame (about a fifth
    // of the CPU on a 2 MiB download, measured with perf). The LRU byte budget still bounds it.
    fc.max_memory_file = 8ull << 20;
    rt->cache_ = std::make_shared<content::FileCache>(fc);
    // The store, and the releases served from it, before the site table that looks them up.
    auto store = StoreService::open(*cfg);
    if (!store) return store.error();
    rt->store_ = std::move(*store);
    // After the store: ACME keeps its state there when there is one.
    Runtime* self = rt.get();
    auto acme = AcmeService::create(*cfg, rt->store_ ? &rt->store_->store() : nullptr,
                                    [self] { self->refresh_certs(); });
    if (!acme) return acme.error();
    rt->acme_ = std::move(*acme);
    if (rt->acme_) rt->tls_->set_alpn_challenge_provider(rt->acme_->alpn_provider());
    if (rt->store_) {
        // The control-plane listeners' certificates come from the internal CA.
        MOAT_TRY(rt->ensure_ca(*cfg));
        auto cp =
            ControlPlane::start(*cfg, rt->store_->store(), *rt->ca_, first_https_port(cfg->edge));
        if (!cp) return cp.error();
        rt->control_ = std::move(*cp);
    }
    auto sites = rt->sites_for(*cfg);
    if (!sites) return sites.error();

    rt->metrics_ = std::make_unique<edge::Metrics>();
    for (const auto& s : cfg->sites)
        for (const auto& e : s.environments) rt->metrics_->site(s.name, e.name);
    if (cfg->edge.access_log && !cfg->edge.access_log_dir.empty()) {
        auto log = edge::AccessLog::open(cfg->edge.access_log_dir, cfg->edge.node_id);
        if (!log) return log.error();
        rt->log_ = std::move(*log);
        edge::AccessLog* lp = rt->log_.get();
        rt->metrics_->set_access_log_dropped([lp] { return lp->dropped(); });
    }
    rt->observer_ = std::make_unique<EdgeObserver>(*rt->metrics_, rt->log_.get());
    if (rt->acme_) rt->acme_->register_metrics(*rt->metrics_);

    edge::EdgeSettings es = cfg->edge;
    es.workers = rt->workers_;
    auto server = edge::Server::create(es, rt->tls_, std::move(*sites), rt->observer_.get());
    if (!server) return server.error();
    rt->server_ = std::move(*server);

    if (!cfg->edge.metrics_listen.empty()) {
        edge::EdgeSettings ms;
        ms.https_listen.clear();
        ms.http_listen = {cfg->edge.metrics_listen};
        ms.workers = 1;
        ms.max_connections = 64;
        auto m = edge::Server::create(ms, nullptr, std::make_shared<MetricsHandler>(*rt->metrics_),
                                      nullptr);
        if (!m) return make_error(m.error().code, "metrics listener: " + m.error().detail);
        rt->metrics_server_ = std::move(*m);
    }
    if (cfg->s3.enabled && rt->store_) {
        ControlPlane* cp = rt->control_.get();
        auto s3 = S3Service::start(*cfg, *rt->ca_, rt->store_->store(),
                                   [cp](const s3::WriteEvent& e) { cp->on_s3_write(e); });
        if (!s3) return s3.error();
        rt->s3_ = std::move(*s3);
    }
    // With a store, finished CloudFront-format log files move into `logs` under
    // CloudFront/<env>/<site>/, where that bucket's lifecycle rules govern them.
    if (rt->store_ && rt->log_ && rt->store_->store().bucket("logs")) {
        LogShipperSettings ls;
        ls.log_dir = cfg->edge.access_log_dir;
        rt->shipper_ = std::make_unique<LogShipper>(rt->store_->store(), ls);
        rt->shipper_->start();
    }
    // [mail] tlsrpt_listen: the TLS-RPT receiver (RFC 8460 §5.3) on the control-plane server;
    // with a store, reports go into `logs` under TLSRPT/<domain>/, else into the data folder.
    store::Store* rpt_store = rt->store_ && mail::TlsRptBucket::usable(rt->store_->store())
                                  ? &rt->store_->store()
                                  : nullptr;
    if (rpt_store) {
        // Reports received while the server had no store join the others in `logs`.
        mail::TlsRptBucket bucket(*rpt_store);
        if (auto moved = mail::move_folder_reports(cfg->mail.tlsrpt_dir, bucket); !moved)
            core::logger("app")->warn("tls-rpt reports stay in {}: {}", cfg->mail.tlsrpt_dir,
                                      moved.error().detail);
    }
    auto tlsrpt = mail::TlsRptService::start(cfg->mail, cfg->tls, rt->tls_->certs(), rpt_store);
    if (!tlsrpt) return tlsrpt.error();
    rt->tlsrpt_ = std::move(*tlsrpt);
    rt->cfg_ = std::move(cfg);
    return rt;
}

Runtime::~Runtime() {
    stop();
    if (acme_) acme_->stop();
    if (metrics_thread_.joinable()) metrics_thread_.join();
    server_.reset();
    metrics_server_.reset();
    shipper_.reset();  // before the store it writes to
    s3_.reset();
    control_.reset();
    tlsrpt_.reset();  // before the store it writes to
    store_.reset();
    if (log_) log_->stop();
}

void Runtime::run() {
    // Orders start once the listeners serve: http-01 and tls-alpn-01 need them answering.
    if (acme_) acme_->start();
    if (metrics_server_) metrics_thread_ = std::thread([this] { metrics_server_->run(); });
    server_->run();
    if (metrics_server_) metrics_server_->stop();
    if (metrics_thread_.joinable()) metrics_thread_.join();
    if (log_) log_->flush();
}

void Runtime::stop() {
    if (s3_) s3_->stop();
    if (control_) control_->stop();
    if (store_) store_->stop();
    if (tlsrpt_) tlsrpt_->stop();
    if (server_) server_->stop();
    if (metrics_server_) metrics_server_->stop();
}

std::string Runtime::ca_root_path() const { return ca_ ? ca_->root_cert_path() : std::string(); }

void Runtime::refresh_certs() {
    std::lock_guard lock(certs_mu_);
    auto certs = certs_for(*cfg_);
    if (!certs) {
        core::logger("app")->error("certificate reload after ACME issuance failed: {}",
                                   certs.error().detail);
        return;
    }
    tls_->set_certs(std::move(*certs));
    if (tlsrpt_) tlsrpt_->set_certs(tls_->certs());
    core::logger("app")->info("certificates swapped in after ACME issuance");
}

Result<void> Runtime::reload(std::shared_ptr<const config::Config> cfg) {
    std::lock_guard certs_lock(certs_mu_);
    auto certs = certs_for(*cfg);
    if (!certs) return certs.error();
    // New or moved store environments get their releases loaded before they are routed.
    if (control_) MOAT_TRY(control_->set_sites(*cfg));
    auto sites = sites_for(*cfg);
    if (!sites) return sites.error();
    // [mail] tlsrpt_listen: new listeners bind before old ones close; an address that cannot
    // be bound refuses the reload, the receiver keeps its old ones.
    if (tlsrpt_) {
        MOAT_TRY(tlsrpt_->set_listen(cfg->mail.tlsrpt_listen));
    } else if (!cfg->mail.tlsrpt_listen.empty()) {
        store::Store* rpt_store =
            store_ && mail::TlsRptBucket::usable(store_->store()) ? &store_->store() : nullptr;
        auto started = mail::TlsRptService::start(cfg->mail, cfg->tls, tls_->certs(), rpt_store);
        if (!started) return started.error();
        tlsrpt_ = std::move(*started);
    }
    const auto& a = cfg_->edge;
    const auto& b = cfg->edge;
    if (a.https_listen != b.https_listen || a.http_listen != b.http_listen ||
        a.workers != b.workers || a.metrics_listen != b.metrics_listen ||
        a.access_log_dir != b.access_log_dir)
        core::logger("app")->warn("reload: listener, worker and log changes apply after a restart");
    const auto& s3a = cfg_->s3;
    const auto& s3b = cfg->s3;
    if (s3a.enabled != s3b.enabled || s3a.listen != s3b.listen || s3a.hosts != s3b.hosts ||
        s3a.region != s3b.region || s3a.max_connections != s3b.max_connections)
        core::logger("app")->warn("reload: [s3] changes apply after a restart");
    for (const auto& s : cfg->sites)
        for (const auto& e : s.environments) metrics_->site(s.name, e.name);
    // Certificates first: a new site's host must have its certificate before it is routed.
    tls_->set_certs(std::move(*certs));
    if (tlsrpt_) tlsrpt_->set_certs(tls_->certs());
    server_->set_handler(std::move(*sites));
    if (tlsrpt_) tlsrpt_->set_domains(cfg->mail);
    if (acme_) {
        acme_->reload(*cfg);
        acme_->register_metrics(*metrics_);
    } else if (!managed_certs(*cfg).empty()) {
        core::logger("app")->warn(
            "reload: tls = \"acme\" on a server started without it applies after a restart");
    }
    cfg_ = std::move(cfg);
    return {};
}

}  // namespace moat::app

#pragma once
// Runtime: every part built from one Config snapshot, and the reload that swaps in the next.
// Owned by app::serve() on the main thread; reload() runs on the signal thread, never on a
// worker (it issues certificates and opens files).

#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "app/acme_service.h"
#include "app/control_plane.h"
#include "app/log_shipper.h"
#include "app/observer.h"
#include "app/s3_service.h"
#include "app/store_service.h"
#include "config/config.h"
#include "content/file_cache.h"
#include "edge/access_log.h"
#include "edge/metrics.h"
#include "edge/server.h"
#include "mail/tlsrpt_service.h"
#include "tls/internal_ca.h"
#include "tls/server_context.h"

namespace moat::app {

class Runtime {
public:
    // Builds and binds everything (listeners included), but serves nothing until run().
    static Result<std::unique_ptr<Runtime>> start(std::shared_ptr<const config::Config> cfg);
    ~Runtime();

    // Serves until stop(); blocks.
    void run();
    void stop();

    // Applies a new config: certificates and sites swap atomically, connections stay up.
    // Listener, worker and limit changes need a restart (reported as a warning). On error the
    // running config stays in service.
    Result<void> reload(std::shared_ptr<const config::Config> cfg);

    const config::Config& config() const { return *cfg_; }
    std::string ca_root_path() const;
    S3Service* s3() const { return s3_.get(); }               // null when [s3] is off
    StoreService* store() const { return store_.get(); }      // null when nothing needs the store
    ControlPlane* control() const { return control_.get(); }  // null without the store

private:
    Runtime() = default;
    Result<std::shared_ptr<const tls::CertTable>> certs_for(const config::Config& cfg);
    Result<std::shared_ptr<edge::Handler>> sites_for(const config::Config& cfg);
    Result<void> ensure_ca(const config::Config& cfg);

    std::shared_ptr<const config::Config> cfg_;
    int workers_ = 1;
    std::optional<tls::InternalCa> ca_;
    std::shared_ptr<tls::ServerContext> tls_;
    std::shared_ptr<content::FileCache> cache_;
    std::unique_ptr<edge::Metrics> metrics_;
    std::unique_ptr<edge::AccessLog> log_;
    std::unique_ptr<EdgeObserver> observer_;
    std::unique_ptr<edge::Server> server_;
    std::unique_ptr<edge::Server> metrics_server_;
    std::thread metrics_thread_;
    std::unique_ptr<StoreService> store_;    // the store, when anything needs it
    std::unique_ptr<ControlPlane> control_;  // releases + admin API; with the store
    std::unique_ptr<S3Service> s3_;          // [s3]: the S3 API over the store; null when disabled
    std::unique_ptr<LogShipper> shipper_;    // access-log files -> the store's `logs` bucket
    std::unique_ptr<mail::TlsRptService> tlsrpt_;  // [mail] tlsrpt_listen; null when off
    // ACME: rebuilds the CertTable when the manager wrote new certificate files. certs_mu_
    // serialises certs_for() (the internal CA is single-owner) between that thread and reload.
    std::mutex certs_mu_;
    std::unique_ptr<AcmeService> acme_;
    void refresh_certs();
};

}  // namespace moat::app

#pragma once
// The S3 API service: opens the store, runs its lifecycle job, and serves the S3 handler on the
// control-plane listener ([s3] listen) over TLS with a certificate from the internal CA for the
// [s3] hosts. Owned by Runtime; start() blocks (store open, key generation), call it at
// start-up; stop() from the thread that stops the runtime.

#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "edge/service.h"
#include "s3/handler.h"
#include "s3/server_access_log.h"
#include "store/lifecycle_job.h"
#include "store/store.h"
#include "tls/internal_ca.h"
#include "tls/server_context.h"

namespace moat::app {

class S3Service {
public:
    // Null (and no error) when [s3] is not enabled. `ca` issues the listener's certificate and
    // must stay alive while the service does. Errors: the store's (kIo ...), the certificate's,
    // and the listener's (an address in use is named).
    static Result<std::unique_ptr<S3Service>> start(const config::Config& cfg, tls::InternalCa& ca);
    ~S3Service();
    S3Service(const S3Service&) = delete;
    S3Service& operator=(const S3Service&) = delete;

    void stop();
    std::vector<std::uint16_t> ports() const;
    store::Store& store() { return *store_; }

    // The store settings the service uses: cfg.store, its folder defaulting to
    // <data_dir>/store (the S3 API needs the store even when [store] says nothing).
    static store::StoreSettings store_settings(const config::Config& cfg);

private:
    S3Service() = default;

    std::unique_ptr<store::Store> store_;
    std::unique_ptr<store::LifecycleJob> lifecycle_;
    std::shared_ptr<tls::ServerContext> tls_;
    std::unique_ptr<s3::ServerAccessLog> access_log_;
    std::shared_ptr<s3::S3Handler> handler_;
    std::unique_ptr<edge::ServiceServer> server_;
    bool stopped_ = false;
};

}  // namespace moat::app

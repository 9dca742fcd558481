#pragma once
// The S3 API service: serves the S3 handler over the app's store on the control-plane listener
// ([s3] listen) over TLS with a certificate from the internal CA for the [s3] hosts. Owned by
// Runtime; start() blocks (key generation), call it at start-up; stop() from the thread that
// stops the runtime.

#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "edge/service.h"
#include "s3/handler.h"
#include "s3/server_access_log.h"
#include "store/store.h"
#include "tls/internal_ca.h"
#include "tls/server_context.h"

namespace moat::app {

class S3Service {
public:
    // Null (and no error) when [s3] is not enabled. `ca` issues the listener's certificate;
    // it and `store` must stay alive while the service does. `on_write` (may be empty) sees
    // every write request after its answer. Errors: the certificate's and the listener's (an
    // address in use is named).
    static Result<std::unique_ptr<S3Service>> start(const config::Config& cfg, tls::InternalCa& ca,
                                                    store::Store& store,
                                                    s3::S3Handler::OnWrite on_write);
    ~S3Service();
    S3Service(const S3Service&) = delete;
    S3Service& operator=(const S3Service&) = delete;

    void stop();
    std::vector<std::uint16_t> ports() const;

private:
    S3Service() = default;

    std::shared_ptr<tls::ServerContext> tls_;
    std::unique_ptr<s3::ServerAccessLog> access_log_;
    std::shared_ptr<s3::S3Handler> handler_;
    std::unique_ptr<edge::ServiceServer> server_;
    bool stopped_ = false;
};

}  // namespace moat::app

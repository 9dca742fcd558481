#pragma once
// The S3 API as an edge::ServiceHandler: authenticates (SigV4, s3/auth.h), routes
// (s3/route.h), checks the key's grants, runs the operation over the store and answers errors
// as S3 XML with x-amz-request-id. Shared by the service pool's threads: handle() is
// thread-safe and blocks on the store.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "edge/service.h"
#include "s3/settings.h"
#include "store/store.h"

namespace moat::s3 {

class ServerAccessLog;

class S3Handler : public edge::ServiceHandler {
public:
    using Now = std::function<std::chrono::system_clock::time_point()>;
    // `store` and `access_log` (may be null) must outlive the handler. `now` (tests) is the
    // clock SigV4's skew and expiry checks use.
    S3Handler(store::Store& store, S3Settings settings, ServerAccessLog* access_log = nullptr,
              Now now = {});

    void handle(edge::ServiceRequest& req, edge::ServiceResponse& res) override;

private:
    std::string next_request_id();

    store::Store& store_;
    S3Settings settings_;
    ServerAccessLog* access_log_;
    Now now_;
    std::atomic<std::uint64_t> counter_{0};
    std::uint64_t id_seed_;
};

}  // namespace moat::s3

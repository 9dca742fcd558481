#pragma once
// The S3 API as an edge::ServiceHandler: authenticates (SigV4, s3/auth.h), routes
// (s3/route.h), checks the key's grants, runs the operation over the store and answers errors
// as S3 XML with x-amz-request-id. Shared by the service pool's threads: handle() is
// thread-safe and blocks on the store.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "edge/service.h"
#include "s3/settings.h"
#include "store/store.h"

namespace moat::s3 {

class ServerAccessLog;

// A request that may change a bucket (PUT, POST, DELETE), after its answer: for the audit log
// and for releases made from uploads. Refused requests are reported too (status >= 400).
struct WriteEvent {
    std::string principal;  // empty: anonymous
    std::string operation;  // "PutObject", "DeleteObjects" ... (op_name)
    std::string bucket;
    std::string key;  // empty for bucket-level operations and DeleteObjects
    std::string version_id;
    int status = 0;
    std::string error_code;
    std::string peer_ip;
};

class S3Handler : public edge::ServiceHandler {
public:
    using OnWrite = std::function<void(const WriteEvent&)>;
    using Now = std::function<std::chrono::system_clock::time_point()>;
    // `store` and `access_log` (may be null) must outlive the handler. `now` (tests) is the
    // clock SigV4's skew and expiry checks use.
    S3Handler(store::Store& store, S3Settings settings, ServerAccessLog* access_log = nullptr,
              Now now = {});

    void handle(edge::ServiceRequest& req, edge::ServiceResponse& res) override;
    // Set before the listener starts; called on the pool thread after each write's answer.
    void set_on_write(OnWrite f) { on_write_ = std::move(f); }

private:
    std::string next_request_id();

    store::Store& store_;
    S3Settings settings_;
    ServerAccessLog* access_log_;
    Now now_;
    OnWrite on_write_;
    std::atomic<std::uint64_t> counter_{0};
    std::uint64_t id_seed_;
};

}  // namespace moat::s3

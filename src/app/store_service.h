#pragma once
// The store as the app runs it: opened once at start-up when anything needs it (the S3 API,
// store-served site environments, the admin API), with its lifecycle job. The S3 API, the
// release service and the log shipper all use this one instance (one process, one writer).

#include <memory>

#include "config/config.h"
#include "core/result.h"
#include "store/lifecycle_job.h"
#include "store/store.h"

namespace moat::app {

class StoreService {
public:
    // Null (and no error) when nothing in cfg needs the store.
    static Result<std::unique_ptr<StoreService>> open(const config::Config& cfg);
    ~StoreService();
    StoreService(const StoreService&) = delete;
    StoreService& operator=(const StoreService&) = delete;

    store::Store& store() { return *store_; }
    void stop();  // stops the lifecycle job (the store stays open until destruction)

    // Whether cfg needs the store: [store] enabled, [s3] enabled, or a store-served site.
    static bool needed(const config::Config& cfg);
    // cfg.store with its folder defaulting to <data_dir>/store.
    static store::StoreSettings settings(const config::Config& cfg);

private:
    StoreService() = default;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<store::LifecycleJob> lifecycle_;
};

}  // namespace moat::app

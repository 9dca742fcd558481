#include "app/store_service.h"

#include <filesystem>

namespace moat::app {

bool StoreService::needed(const config::Config& cfg) {
    if (cfg.store.enabled || cfg.s3.enabled || cfg.release.enabled || cfg.admin.enabled)
        return true;
    for (const auto& s : cfg.sites)
        for (const auto& e : s.environments)
            if (e.from_store) return true;
    return false;
}

store::StoreSettings StoreService::settings(const config::Config& cfg) {
    store::StoreSettings s = cfg.store;
    s.enabled = true;
    if (s.dir.empty()) s.dir = (std::filesystem::path(cfg.data_dir) / "store").string();
    return s;
}

Result<std::unique_ptr<StoreService>> StoreService::open(const config::Config& cfg) {
    if (!needed(cfg)) return std::unique_ptr<StoreService>();
    std::unique_ptr<StoreService> svc(new StoreService());
    auto ss = settings(cfg);
    auto st = store::Store::open(ss);
    if (!st) return make_error(st.error().code, "store " + ss.dir + ": " + st.error().detail);
    svc->store_ = std::move(*st);
    svc->lifecycle_ = std::make_unique<store::LifecycleJob>(*svc->store_, ss.lifecycle_interval);
    svc->lifecycle_->start();
    return svc;
}

StoreService::~StoreService() { stop(); }

void StoreService::stop() {
    if (lifecycle_) lifecycle_->stop();
}

}  // namespace moat::app

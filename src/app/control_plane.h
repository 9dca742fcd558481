#pragma once
// The control plane of releases: the catalog the edge serves store environments from, the
// release service, and the admin API (principals, TOTP, audit log) on its own listener
// ([admin] listen) over TLS with a certificate from the internal CA. Owned by Runtime, built
// after the store and before the site table (which looks files up in the catalog).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "admin/audit_log.h"
#include "admin/handler.h"
#include "admin/principals.h"
#include "config/config.h"
#include "core/result.h"
#include "edge/service.h"
#include "release/catalog.h"
#include "release/service.h"
#include "s3/handler.h"
#include "store/store.h"
#include "tls/internal_ca.h"
#include "tls/server_context.h"

namespace moat::app {

class ControlPlane {
public:
    // Opens the release database and activates every store environment's release (blocking:
    // bodies are loaded before the edge can route to them), then the admin listener when
    // [admin] is enabled. `store` and `ca` must outlive the control plane.
    static Result<std::unique_ptr<ControlPlane>> start(const config::Config& cfg,
                                                       store::Store& store, tls::InternalCa& ca,
                                                       std::uint16_t https_port);
    ~ControlPlane();
    ControlPlane(const ControlPlane&) = delete;
    ControlPlane& operator=(const ControlPlane&) = delete;

    std::shared_ptr<release::Catalog> catalog() const { return catalog_; }
    release::ReleaseService& releases() { return *releases_; }
    admin::Principals* principals() { return principals_.get(); }
    admin::AuditLog* audit() { return audit_.get(); }
    std::vector<std::uint16_t> admin_ports() const;

    // Reload: the new sites' environments (new releases activated before the caller swaps
    // the site table in).
    Result<void> set_sites(const config::Config& cfg);
    // Every S3 write: into the audit log; successful ones under content/ to the releases.
    void on_s3_write(const s3::WriteEvent& e);
    // `moat backup`: store snapshot + release and admin databases + keys into dest.
    Result<std::string> backup(const std::string& dest);
    void stop();

    // Settings with the paths filled from the store folder and data folder.
    static release::ReleaseSettings release_settings(const config::Config& cfg);
    static admin::AdminSettings admin_settings(const config::Config& cfg);

private:
    ControlPlane() = default;

    store::Store* store_ = nullptr;
    std::shared_ptr<const config::Config> cfg_;
    std::shared_ptr<release::Catalog> catalog_;
    std::unique_ptr<release::ReleaseService> releases_;
    std::unique_ptr<admin::Principals> principals_;
    std::unique_ptr<admin::AuditLog> audit_;
    std::shared_ptr<tls::ServerContext> tls_;
    std::shared_ptr<admin::AdminHandler> handler_;
    std::unique_ptr<edge::ServiceServer> server_;
    release::ReleaseSettings rsettings_;
    admin::AdminSettings asettings_;
    std::vector<site::SiteSettings> sites_;
    bool stopped_ = false;
};

}  // namespace moat::app

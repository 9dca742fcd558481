#pragma once
// The admin API (docs/admin-api.md) as an edge::ServiceHandler: bearer-token authentication,
// roles, TOTP for approver and admin actions, failed-auth rate limiting, JSON in and out, every
// call recorded in the audit log. Runs on the control-plane listener's pool threads.

#include <functional>
#include <memory>
#include <string>

#include "admin/audit_log.h"
#include "admin/principals.h"
#include "admin/settings.h"
#include "edge/service.h"
#include "release/service.h"
#include "store/store.h"

namespace moat::admin {

struct AdminDeps {
    Principals* principals = nullptr;
    AuditLog* audit = nullptr;
    release::ReleaseService* releases = nullptr;
    // POST /v1/backup: writes a backup into the folder named (on the server). Set by the app.
    std::function<Result<std::string>(const std::string& dest)> backup;
    std::function<std::chrono::system_clock::time_point()> now;  // tests; empty: system clock
};

class AdminHandler : public edge::ServiceHandler {
public:
    AdminHandler(AdminSettings settings, AdminDeps deps);
    ~AdminHandler() override;
    void handle(edge::ServiceRequest& req, edge::ServiceResponse& res) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace moat::admin

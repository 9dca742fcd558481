#pragma once
// One authenticated admin API call as the route functions see it, and the route functions
// (routes_release.cc, routes_admin.cc). handler.cc authenticates, checks roles and TOTP,
// parses the JSON body, runs the route and audits. Private to admin/.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "admin/handler.h"
#include "admin/internal/api.h"

namespace moat::admin::internal {

struct Call {
    edge::ServiceRequest& req;
    const AdminSettings& settings;
    const AdminDeps& deps;
    Principal who;
    std::vector<std::string> args;  // the route's '*' segments in order, then '**' joined by '/'
    Json body;                      // the parsed request body of JSON routes ({} when empty)
    std::chrono::system_clock::time_point now;
    // What the audit record names; routes fill them in.
    std::string target;
    Json detail = Json::object();
    // Raises the call's requirements after the fact (rollback of the protected environment):
    // a reply when refused (403 / 401 OTP), nullopt when the principal may go on.
    std::function<std::optional<Reply>(Role min, bool totp)> require;
};

using RouteFn = Reply (*)(Call&);

Reply route_whoami(Call& c);
Reply route_sites(Call& c);
Reply route_site(Call& c);
Reply route_missing(Call& c);
Reply route_upload(Call& c);
Reply route_deploy(Call& c);
Reply route_releases(Call& c);
Reply route_release(Call& c);
Reply route_diff(Call& c);
Reply route_promote(Call& c);
Reply route_approve(Call& c);
Reply route_reject(Call& c);
Reply route_rollback(Call& c);
Reply route_invalidate(Call& c);

Reply route_audit_log(Call& c);
Reply route_audit_verify(Call& c);
Reply route_principals(Call& c);
Reply route_principal_create(Call& c);
Reply route_principal_remove(Call& c);
Reply route_backup(Call& c);

}  // namespace moat::admin::internal

// The admin API's request path: route match, bearer token, failed-auth limits, role, TOTP,
// JSON body, the route, the audit record. Route functions live in routes_*.cc.
#include "admin/handler.h"

#include <array>
#include <cctype>

#include "admin/internal/call.h"
#include "admin/internal/rate_limit.h"
#include "core/log.h"

namespace moat::admin {
namespace {

using internal::Call;
using internal::fail;
using internal::Json;
using internal::Reply;

struct Route {
    const char* method;
    // Segments after "/v1": literals, "*" (one segment, captured), "**" (the rest, at least
    // one segment, captured joined by '/').
    std::vector<std::string_view> pattern;
    const char* action;  // for the audit log
    Role role;
    bool totp;
    bool json_body;
    bool audited;  // viewer reads are not audited (they change nothing)
    internal::RouteFn fn;
};

const std::vector<Route>& routes() {
    using namespace internal;
    static const std::vector<Route> r{
        {"GET", {"whoami"}, "whoami", Role::kViewer, false, false, false, route_whoami},
        {"GET", {"sites"}, "sites", Role::kViewer, false, false, false, route_sites},
        {"GET", {"sites", "*"}, "site", Role::kViewer, false, false, false, route_site},
        {"POST",
         {"sites", "*", "envs", "*", "missing"},
         "missing",
         Role::kDeployer,
         false,
         true,
         true,
         route_missing},
        {"PUT",
         {"sites", "*", "envs", "*", "files", "**"},
         "upload",
         Role::kDeployer,
         false,
         false,
         true,
         route_upload},
        {"POST",
         {"sites", "*", "envs", "*", "deploy"},
         "deploy",
         Role::kDeployer,
         false,
         true,
         true,
         route_deploy},
        {"GET",
         {"sites", "*", "releases"},
         "releases",
         Role::kViewer,
         false,
         false,
         false,
         route_releases},
        {"GET",
         {"sites", "*", "releases", "*"},
         "release",
         Role::kViewer,
         false,
         false,
         false,
         route_release},
        {"GET", {"sites", "*", "diff"}, "diff", Role::kViewer, false, false, false, route_diff},
        {"POST",
         {"sites", "*", "promote"},
         "promote",
         Role::kDeployer,
         false,
         true,
         true,
         route_promote},
        {"POST",
         {"sites", "*", "approve"},
         "approve",
         Role::kApprover,
         true,
         true,
         true,
         route_approve},
        {"POST",
         {"sites", "*", "reject"},
         "reject",
         Role::kApprover,
         true,
         true,
         true,
         route_reject},
        {"POST",
         {"sites", "*", "rollback"},
         "rollback",
         Role::kDeployer,
         false,
         true,
         true,
         route_rollback},
        {"POST",
         {"sites", "*", "invalidate"},
         "invalidate",
         Role::kDeployer,
         false,
         true,
         true,
         route_invalidate},
        {"GET", {"audit-log"}, "audit-log", Role::kViewer, false, false, false, route_audit_log},
        {"GET",
         {"audit-log", "verify"},
         "audit-log.verify",
         Role::kViewer,
         false,
         false,
         false,
         route_audit_verify},
        {"GET",
         {"principals"},
         "principals.list",
         Role::kAdmin,
         false,
         false,
         true,
         route_principals},
        {"POST",
         {"principals"},
         "principals.create",
         Role::kAdmin,
         true,
         true,
         true,
         route_principal_create},
        {"DELETE",
         {"principals", "*"},
         "principals.remove",
         Role::kAdmin,
         true,
         false,
         true,
         route_principal_remove},
        {"POST", {"backup"}, "backup", Role::kAdmin, true, true, true, route_backup},
    };
    return r;
}

// The route for method + segments (after "v1"), with its captures; nullptr when none.
const Route* match(std::string_view method, const std::vector<std::string>& seg,
                   std::vector<std::string>& args) {
    for (const Route& r : routes()) {
        if (method != r.method) continue;
        args.clear();
        std::size_t i = 0;
        bool okay = true;
        for (std::string_view p : r.pattern) {
            if (p == "**") {
                if (i >= seg.size()) {
                    okay = false;
                    break;
                }
                std::string rest;
                for (; i < seg.size(); ++i) rest += (rest.empty() ? "" : "/") + seg[i];
                args.push_back(std::move(rest));
                break;
            }
            if (i >= seg.size() || (p == "*" ? seg[i].empty() : seg[i] != p)) {
                okay = false;
                break;
            }
            if (p == "*") args.push_back(seg[i]);
            ++i;
        }
        if (okay && i == seg.size()) return &r;
    }
    return nullptr;
}

// RFC 6750 §2.1: "Bearer" (case-insensitive scheme, RFC 9110 §11.1) then the token.
std::string_view bearer_token(std::string_view auth) {
    constexpr std::string_view kScheme = "bearer ";
    if (auth.size() <= kScheme.size()) return {};
    for (std::size_t i = 0; i < kScheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(auth[i])) != kScheme[i]) return {};
    auth.remove_prefix(kScheme.size());
    while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
    while (!auth.empty() && (auth.back() == ' ' || auth.back() == '\t')) auth.remove_suffix(1);
    return auth;
}

std::string outcome_of(const Reply& r) {
    if (r.status < 400) return "ok";
    if (r.status == 401 || r.status == 403) return "denied";
    return "error: " + r.code;
}

}  // namespace

struct AdminHandler::Impl {
    AdminSettings settings;
    AdminDeps deps;
    internal::FailureLimiter limiter;

    Impl(AdminSettings s, AdminDeps d)
        : settings(std::move(s)),
          deps(std::move(d)),
          limiter(settings.max_failures, settings.failure_window, settings.lockout) {}

    std::chrono::system_clock::time_point now() const {
        return deps.now ? deps.now() : std::chrono::system_clock::now();
    }

    static Reply too_many(std::int64_t retry_after) {
        Reply r = fail(429, "TooManyFailures", "too many failed authentications; try later");
        r.retry_after = retry_after;
        return r;
    }

    void audit(const edge::ServiceRequest& req, const std::string& principal,
               const std::string& action, const std::string& target, Json detail, const Reply& r) {
        if (!deps.audit) return;
        if (!r.code.empty()) detail["error"] = r.code;
        AuditEvent e{"admin",       principal,
                     action,        target,
                     outcome_of(r), detail.dump(-1, ' ', false, Json::error_handler_t::replace),
                     req.peer_ip};
        if (auto a = deps.audit->append(std::move(e)); !a)
            core::logger("admin")->error("audit append failed action={} principal={} err={}",
                                         action, principal, a.error().detail);
    }

    // Role and TOTP of one call: a reply when refused.
    std::optional<Reply> require(Call& c, Role min, bool totp) {
        if (c.who.role < min)
            return fail(
                403, "AccessDenied",
                std::string("this call needs the ") + std::string(role_name(min)) + " role");
        if (!totp) return std::nullopt;
        std::string_view code = c.req.header("x-moat-otp");
        if (code.empty())
            return fail(401, "OtpRequired", "this call needs X-Moat-OTP: the current TOTP code");
        auto v = deps.principals->verify_totp(c.who.name, code, c.now);
        if (!v) {
            if (v.error().code != Errc::kDenied) return fail(v.error());
            limiter.fail("peer:" + c.req.peer_ip, c.now);
            limiter.fail("principal:" + c.who.name, c.now);
            return fail(401, "OtpInvalid", "wrong or already used one-time code");
        }
        limiter.clear("principal:" + c.who.name);
        return std::nullopt;
    }

    Reply serve(edge::ServiceRequest& req) {
        auto t = now();
        std::string peer_key = "peer:" + req.peer_ip;
        if (auto wait = limiter.locked(peer_key, t)) return too_many(*wait);

        std::vector<std::string> args;
        const Route* route = nullptr;
        auto seg = internal::split_path(req.path);
        if (seg && !seg->empty() && (*seg)[0] == "v1") {
            seg->erase(seg->begin());
            route = match(req.method, *seg, args);
        }
        const char* action = route ? route->action : "auth";

        std::string_view token = bearer_token(req.header("authorization"));
        if (token.empty()) {
            Reply r = fail(401, "Unauthorized", "Authorization: Bearer <token> is required");
            audit(req, "-", action, "", Json::object(), r);
            return r;
        }
        auto who = deps.principals->authenticate(token);
        if (!who) {
            if (who.error().code != Errc::kDenied) return fail(who.error());
            limiter.fail(peer_key, t);
            Reply r = fail(401, "Unauthorized", "invalid token");
            r.bad_token = true;
            audit(req, "-", action, "", Json::object(), r);
            return r;
        }
        if (auto wait = limiter.locked("principal:" + who->name, t)) return too_many(*wait);
        if (!route) {
            return fail(404, "NotFound",
                        seg ? "no such call: " + req.method + " " + req.path : "bad path");
        }

        Call c{req, settings, deps,           *who,   std::move(args), Json::object(),
               t,   "",       Json::object(), nullptr};
        c.require = [this, &c](Role min, bool totp) { return require(c, min, totp); };
        Reply r = run(*route, c);
        // Viewer reads change nothing and are not audited, unless refused.
        if (route->audited || r.status == 401 || r.status == 403)
            audit(req, who->name, route->action, c.target, std::move(c.detail), r);
        return r;
    }

    Reply run(const Route& route, Call& c) {
        if (auto refused = require(c, route.role, route.totp)) return *refused;
        try {
            if (route.json_body) {
                auto text = internal::read_body(*c.req.body, settings.max_json);
                if (!text) {
                    if (text.error().code == Errc::kTooLarge)
                        return fail(413, "TooLarge", text.error().detail);
                    return fail(400, "BadRequest", "request body: " + text.error().detail);
                }
                if (!text->empty()) c.body = Json::parse(*text);
                if (!c.body.is_object())
                    return fail(400, "BadRequest", "the body must be a JSON object");
            }
            return route.fn(c);
        } catch (const nlohmann::json::exception& e) {
            return fail(400, "BadRequest", std::string("JSON: ") + e.what());
        }
    }
};

AdminHandler::AdminHandler(AdminSettings settings, AdminDeps deps)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(deps))) {}

AdminHandler::~AdminHandler() = default;

void AdminHandler::handle(edge::ServiceRequest& req, edge::ServiceResponse& res) {
    internal::send(res, impl_->serve(req));
}

}  // namespace moat::admin

#pragma once
// Principals of the admin API: a name (the same names S3 access keys carry), a role, an API
// token (random, stored only as its SHA-256) and a TOTP secret (sealed by the admin key).
// SQLite (AdminSettings::db_path). Thread-safe; blocking.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/settings.h"
#include "core/result.h"

namespace moat::admin {

// Each role may do what the ones before it may:
//  viewer   - read: sites, releases, manifests, diffs, the audit log
//  deployer - deploy, promote (request), rollback of unprotected environments, invalidate
//  approver - approve / reject promotions, rollback of the protected environment (TOTP)
//  admin    - principals, backup (TOTP)
enum class Role { kViewer = 0, kDeployer = 1, kApprover = 2, kAdmin = 3 };
std::string_view role_name(Role r);  // "viewer" ...
Result<Role> parse_role(std::string_view s);

struct Principal {
    std::string name;
    Role role = Role::kViewer;
    std::chrono::system_clock::time_point created;
};

// What enrolment hands out, once: the token and TOTP secret are not stored in plain text.
struct Enrolment {
    Principal principal;
    std::string token;        // "moat_" + 43 base64url characters (32 random bytes)
    std::string totp_secret;  // base32
    std::string otpauth_uri;
};

class Principals {
public:
    static Result<std::unique_ptr<Principals>> open(const AdminSettings& settings);
    virtual ~Principals() = default;

    // Names: 1-64 of [A-Za-z0-9._@-]. kConflict when the name exists.
    virtual Result<Enrolment> create(std::string_view name, Role role) = 0;
    // New token and TOTP secret for an existing principal (the old ones stop working).
    virtual Result<Enrolment> reset(std::string_view name) = 0;
    virtual Result<void> remove(std::string_view name) = 0;
    virtual Result<std::vector<Principal>> list() = 0;
    // The principal holding this token; kDenied (no detail that tells which part was wrong).
    virtual Result<Principal> authenticate(std::string_view token) = 0;
    // RFC 6238 with ±1 step; a code of a step not newer than the last one accepted for this
    // principal is refused (replay, RFC 6238 §5.2). kDenied.
    virtual Result<void> verify_totp(std::string_view name, std::string_view code,
                                     std::chrono::system_clock::time_point now) = 0;
};

}  // namespace moat::admin

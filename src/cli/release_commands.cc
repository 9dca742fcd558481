// The release commands: clients of the admin API (docs/admin-api.md).
//   moat deploy DIR --site X [--env testing] [--jobs 4] [--force]
//   moat promote X [--from testing] [--release R] [--force]
//   moat approve X R [--force] | reject X R [--reason]
//   moat rollback X [--env production] [--to R]       moat releases X | diff X R1 R2
//   moat invalidate X PATH... [--env testing]         moat audit-log show | verify
//   moat backup DEST
// Every one takes --credentials, --profile, --url, --token ($MOAT_TOKEN), --ca, --otp, --json.
#include "cli/release_commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "admin/totp.h"
#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/credentials.h"
#include "cli/deploy.h"
#include "cli/release_format.h"

namespace moat::cli {
namespace {

using nlohmann::json;

constexpr const char* kExitCodes =
    "Exit codes: 0 done, 1 failed (server, network, denied), 2 bad input (usage, unknown site "
    "or release, a folder that cannot be published), 3 pending (waiting for approvals).";

constexpr const char* kForceHelp =
    "Go on although the site's header grade is below its min_grade (admin, TOTP; audited)";

struct Conn {
    ConnectionFlags flags;
    bool json = false;
};

void add_conn(CLI::App* app, Conn& c) {
    app->add_option("--credentials", c.flags.credentials,
                    "Profiles file (default $MOAT_CREDENTIALS, else ./moat-data/demo-principals)");
    app->add_option("--profile", c.flags.profile,
                    "Profile of the credentials file (default: first)");
    app->add_option("--url", c.flags.url, "Admin API URL, https://host:port");
    app->add_option("--token", c.flags.token,
                    "API token (default $MOAT_TOKEN, else the profile's)");
    app->add_option("--ca", c.flags.ca,
                    "PEM file of the CA that signed the admin API's certificate");
    app->add_option("--otp", c.flags.otp, "TOTP code (6 digits), for commands that need one");
    app->add_flag("--json", c.json, "Print the admin API's JSON answer");
    app->footer(kExitCodes);
}

// Where a TOTP code comes from: --otp, else the profile's totp_secret (demo), else the
// terminal. A computed code that the server calls replayed (a command a moment ago used this
// 30-second step) is followed by the next step's, which RFC 6238 §5.2's window still accepts.
class OtpSource {
public:
    OtpSource(std::string flag, std::string secret)
        : flag_(std::move(flag)), secret_(std::move(secret)) {}
    bool computed() const { return flag_.empty() && !secret_.empty(); }

    Result<std::string> first() {
        if (!flag_.empty()) {
            if (flag_.size() != 6 || flag_.find_first_not_of("0123456789") != std::string::npos)
                return make_error(Errc::kInvalidArgument, "--otp: expected 6 digits");
            return flag_;
        }
        if (!secret_.empty()) {
            base_ = admin::totp_step(std::chrono::system_clock::now());
            return admin::totp_code(secret_, base_);
        }
        return prompt();
    }

    // The code of the following step; waits until the server's window reaches it.
    Result<std::string> next() {
        ++offset_;
        bool told = false;
        for (;;) {
            auto now = admin::totp_step(std::chrono::system_clock::now());
            if (base_ + offset_ <= now + 1) break;
            if (!told)
                std::fprintf(stderr, "moat: TOTP code already used; waiting for the next one\n");
            told = true;
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        return admin::totp_code(secret_, base_ + offset_);
    }

private:
    static Result<std::string> prompt() {
        std::FILE* tty = std::fopen("/dev/tty", "r+");
        if (tty == nullptr)
            return make_error(Errc::kInvalidArgument,
                              "this command needs a TOTP code: give --otp CODE (or totp_secret "
                              "in the profile)");
        std::fputs("TOTP code: ", tty);
        std::fflush(tty);
        char buf[64] = {0};
        bool got = std::fgets(buf, sizeof buf, tty) != nullptr;
        std::fclose(tty);
        std::string code = got ? buf : "";
        while (!code.empty() && (code.back() == '\n' || code.back() == '\r' || code.back() == ' '))
            code.pop_back();
        if (code.size() != 6 || code.find_first_not_of("0123456789") != std::string::npos)
            return make_error(Errc::kInvalidArgument, "TOTP code: expected 6 digits");
        return code;
    }

    std::string flag_, secret_;
    std::int64_t base_ = 0;
    int offset_ = 0;
};

enum class Otp { kNone, kUpFront, kIfAsked };

struct Answer {
    int rc = 0;  // 0: `res` is a 2xx answer
    ApiResponse res;
};

// One API call with the common flags; prints failures as "moat <cmd>: ..." itself.
Answer api(const char* cmd, const Conn& c, std::string_view method, const std::string& path,
           const std::string& body, Otp otp) {
    auto profile = resolve_profile(c.flags, CredentialsEnv::from_process());
    if (!profile) {
        std::fprintf(stderr, "moat %s: %s\n", cmd, profile.error().detail.c_str());
        return {exit_code_for(profile.error()), {}};
    }
    OtpSource source(c.flags.otp, profile->totp_secret);
    AdminClient client(std::move(*profile));
    std::string code;
    auto take = [&](Result<std::string> r) {
        if (!r) {
            std::fprintf(stderr, "moat %s: %s\n", cmd, r.error().detail.c_str());
            return false;
        }
        code = std::move(*r);
        return true;
    };
    if (otp == Otp::kUpFront && !take(source.first())) return {2, {}};
    for (int attempt = 0;; ++attempt) {
        auto r = client.call(method, path, body, code);
        if (!r) {
            std::fprintf(stderr, "moat %s: %s\n", cmd, r.error().detail.c_str());
            return {exit_code_for(r.error()), {}};
        }
        bool retry = false;
        if (r->status == 401 && r->code == "OtpRequired" && code.empty() && otp != Otp::kNone) {
            if (!take(source.first())) return {2, {}};
            retry = true;
        } else if (r->status == 401 && r->code == "OtpInvalid" && source.computed() &&
                   attempt < 3) {
            if (!take(source.next())) return {2, {}};
            retry = true;
        }
        if (retry) continue;
        if (!r->ok()) {
            std::fprintf(stderr, "moat %s: %s\n", cmd, r->error_text().c_str());
            return {exit_code_for(*r), std::move(*r)};
        }
        return {0, std::move(*r)};
    }
}

std::string site_path(const std::string& site) {
    return "/v1/sites/" + percent_encode_segment(site);
}

// Prints a formatted answer (or the JSON with --json); 1 when the answer was not understood.
int print(const char* cmd, const Conn& c, const Answer& a, const Result<std::string>& text) {
    if (c.json) {
        std::printf("%s\n", a.res.body.c_str());
        return 0;
    }
    if (!text) {
        std::fprintf(stderr, "moat %s: %s\n", cmd, text.error().detail.c_str());
        return 1;
    }
    std::fwrite(text->data(), 1, text->size(), stdout);
    return 0;
}

struct SiteArgs {
    Conn conn;
    bool force = false;  // override the site's header policy (admin, TOTP)
    std::string site, release, from = "testing", env, to, reason, r2, dest;
    std::vector<std::string> paths;
    std::uint64_t after = 0;
    int limit = 100;
};

int run_promote_like(const char* cmd, const SiteArgs& a, const std::string& path, const json& body,
                     Otp otp, const std::string& prefix) {
    auto r = api(cmd, a.conn, "POST", path, body.dump(), otp);
    if (r.rc != 0) return r.rc;
    auto t = promote_text(r.res.body, a.site);
    if (a.conn.json) {
        std::printf("%s\n", r.res.body.c_str());
    } else if (!t) {
        std::fprintf(stderr, "moat %s: %s\n", cmd, t.error().detail.c_str());
        return 1;
    } else {
        std::printf("%s%s\n", prefix.c_str(), t->text.c_str());
    }
    return t && t->pending ? 3 : 0;
}

// "force": true only when asked (docs/admin-api.md "Forcing past the header policy").
json with_force(json body, bool force) {
    if (force) body["force"] = true;
    return body;
}

int run_promote(const SiteArgs& a) {
    // A forced call needs the admin's code: sent up front rather than after a 401.
    return run_promote_like("promote", a, site_path(a.site) + "/promote",
                            with_force(json{{"from", a.from}, {"release", a.release}}, a.force),
                            a.force ? Otp::kUpFront : Otp::kIfAsked, "");
}

int run_approve(const SiteArgs& a) {
    return run_promote_like("approve", a, site_path(a.site) + "/approve",
                            with_force(json{{"release", a.release}}, a.force), Otp::kUpFront,
                            "approved " + a.release + "; ");
}

// The code source of a forced deploy: the first code, then (after OtpInvalid) the next step's
// when the code is computed from the profile; a typed or given code is not asked again.
std::function<Result<std::string>(const Profile&)> deploy_otp(const std::string& flag) {
    auto source = std::make_shared<std::optional<OtpSource>>();
    return [source, flag](const Profile& p) -> Result<std::string> {
        if (!*source) {
            source->emplace(flag, p.totp_secret);
            return (*source)->first();
        }
        if (!(*source)->computed()) return make_error(Errc::kDenied, "the TOTP code was refused");
        return (*source)->next();
    };
}

int run_reject(const SiteArgs& a) {
    auto r = api("reject", a.conn, "POST", site_path(a.site) + "/reject",
                 json{{"release", a.release}, {"reason", a.reason}}.dump(), Otp::kUpFront);
    if (r.rc != 0) return r.rc;
    return print("reject", a.conn, r, "rejected the promotion of " + a.release + "\n");
}

int run_rollback(const SiteArgs& a) {
    std::string env = a.env.empty() ? "production" : a.env;
    auto r = api("rollback", a.conn, "POST", site_path(a.site) + "/rollback",
                 json{{"env", env}, {"to", a.to}}.dump(),
                 env == "production" ? Otp::kUpFront : Otp::kIfAsked);
    if (r.rc != 0) return r.rc;
    return print("rollback", a.conn, r, rollback_text(r.res.body, env));
}

int run_releases(const SiteArgs& a) {
    auto r = api("releases", a.conn, "GET", site_path(a.site) + "/releases", "", Otp::kNone);
    if (r.rc != 0) return r.rc;
    return print("releases", a.conn, r, releases_text(r.res.body));
}

int run_diff(const SiteArgs& a) {
    auto r = api("diff", a.conn, "GET",
                 site_path(a.site) + "/diff?from=" + percent_encode_segment(a.release) +
                     "&to=" + percent_encode_segment(a.r2),
                 "", Otp::kNone);
    if (r.rc != 0) return r.rc;
    return print("diff", a.conn, r, diff_text(r.res.body));
}

int run_invalidate(const SiteArgs& a) {
    std::string env = a.env.empty() ? "testing" : a.env;
    auto r = api("invalidate", a.conn, "POST", site_path(a.site) + "/invalidate",
                 json{{"env", env}, {"paths", a.paths}}.dump(), Otp::kIfAsked);
    if (r.rc != 0) return r.rc;
    return print("invalidate", a.conn, r, invalidation_text(r.res.body));
}

int run_audit_show(const SiteArgs& a) {
    if (a.limit < 1 || a.limit > 1000) {
        std::fprintf(stderr, "moat audit-log show: --limit must be between 1 and 1000\n");
        return 2;
    }
    auto r =
        api("audit-log show", a.conn, "GET",
            "/v1/audit-log?after=" + std::to_string(a.after) + "&limit=" + std::to_string(a.limit),
            "", Otp::kNone);
    if (r.rc != 0) return r.rc;
    return print("audit-log show", a.conn, r, audit_records_text(r.res.body));
}

int run_audit_verify(const SiteArgs& a) {
    auto r = api("audit-log verify", a.conn, "GET", "/v1/audit-log/verify", "", Otp::kNone);
    if (r.rc != 0) return r.rc;
    auto v = audit_verify_text(r.res.body);
    if (!v) return print("audit-log verify", a.conn, r, v.error());
    int rc = print("audit-log verify", a.conn, r, v->text);
    return rc != 0 ? rc : (v->ok ? 0 : 1);
}

int run_backup(const SiteArgs& a) {
    if (a.dest.empty() || a.dest.front() != '/') {
        std::fprintf(stderr, "moat backup: DEST must be an absolute path on the server\n");
        return 2;
    }
    auto r =
        api("backup", a.conn, "POST", "/v1/backup", json{{"dest", a.dest}}.dump(), Otp::kUpFront);
    if (r.rc != 0) return r.rc;
    return print("backup", a.conn, r, backup_text(r.res.body));
}

CLI::App* site_command(CLI::App& root, const char* name, const char* what, SiteArgs& a) {
    auto* cmd = root.add_subcommand(name, what);
    cmd->add_option("site", a.site, "Site name")->required();
    add_conn(cmd, a.conn);
    return cmd;
}

}  // namespace

void add_release_commands(CLI::App& root, Commands& out) {
    auto dep = std::make_shared<std::pair<DeployOptions, Conn>>();
    auto* deploy = root.add_subcommand(
        "deploy", "Upload a folder as a new release of a site's environment (only what changed)");
    deploy->add_option("dir", dep->first.dir, "Folder to publish")->required();
    deploy->add_option("--site", dep->first.site, "Site name")->required();
    deploy->add_option("--env", dep->first.env, "Environment (default testing)");
    deploy->add_option("--jobs", dep->first.jobs, "Uploads at a time (default 4)");
    deploy->add_flag("--force", dep->first.force, kForceHelp);
    add_conn(deploy, dep->second);
    out.push_back({deploy, [dep] {
                       DeployOptions o = dep->first;
                       o.json = dep->second.json;
                       if (o.force) o.otp = deploy_otp(dep->second.flags.otp);
                       return run_deploy(o, dep->second.flags);
                   }});

    auto a = std::make_shared<SiteArgs>();
    auto* promote = site_command(root, "promote",
                                 "Promote an environment's release to production (may wait "
                                 "for approvals: exit 3)",
                                 *a);
    promote->add_option("--from", a->from, "Environment whose release is promoted (testing)");
    promote->add_option("--release", a->release, "This release instead of --from's current one");
    promote->add_flag("--force", a->force, kForceHelp);
    out.push_back({promote, [a] { return run_promote(*a); }});

    auto* approve = site_command(root, "approve", "Approve a pending promotion (TOTP)", *a);
    approve->add_option("release", a->release, "Release id, e.g. r7")->required();
    approve->add_flag("--force", a->force, kForceHelp);
    out.push_back({approve, [a] { return run_approve(*a); }});

    auto* reject = site_command(root, "reject", "Reject a pending promotion (TOTP)", *a);
    reject->add_option("release", a->release, "Release id")->required();
    reject->add_option("--reason", a->reason, "Why (recorded in the audit log)");
    out.push_back({reject, [a] { return run_reject(*a); }});

    auto* rollback =
        site_command(root, "rollback",
                     "Point an environment back at an earlier release (TOTP for production)", *a);
    rollback->add_option("--env", a->env, "Environment (default production)");
    rollback->add_option("--to", a->to, "Release to serve (default: the one before)");
    out.push_back({rollback, [a] { return run_rollback(*a); }});

    auto* releases = site_command(root, "releases", "List a site's releases and history", *a);
    out.push_back({releases, [a] { return run_releases(*a); }});

    auto* diff = site_command(root, "diff", "Paths added, removed, changed between releases", *a);
    diff->add_option("from", a->release, "Release id")->required();
    diff->add_option("to", a->r2, "Release id")->required();
    out.push_back({diff, [a] { return run_diff(*a); }});

    auto* inval = site_command(root, "invalidate",
                               "Record an invalidation (rebuilds store-served "
                               "environments from their S3 prefix)",
                               *a);
    inval->add_option("paths", a->paths, "Paths: /docs/*, /index.html ...")->required();
    inval->add_option("--env", a->env, "Environment (default testing)");
    out.push_back({inval, [a] { return run_invalidate(*a); }});

    auto* log = root.add_subcommand("audit-log", "The admin audit log (hash-chained)");
    log->require_subcommand(1);
    auto* show = log->add_subcommand("show", "Print records");
    add_conn(show, a->conn);
    show->add_option("--after", a->after, "Only records with seq > N");
    show->add_option("--limit", a->limit, "At most M records (1-1000, default 100)");
    out.push_back({show, [a] { return run_audit_show(*a); }});
    auto* verify = log->add_subcommand("verify", "Check the hash chain; exit 1 when damaged");
    add_conn(verify, a->conn);
    out.push_back({verify, [a] { return run_audit_verify(*a); }});

    auto* backup = root.add_subcommand(
        "backup", "Write a consistent backup on the server (admin, TOTP); see moat restore");
    backup->add_option("dest", a->dest, "Absolute path of a new folder on the server")->required();
    add_conn(backup, a->conn);
    out.push_back({backup, [a] { return run_backup(*a); }});

    add_offline_commands(root, out);
}

}  // namespace moat::cli

// Release-related commands that work on the data folder directly, without a server:
//   moat restore SRC --data-dir DIR        a backup (moat backup) back into DIR/store
//   moat principals add NAME --role R      bootstrap: the first admin has no one to ask
//   moat principals list | remove NAME
// Each takes --data-dir DIR (default ./moat-data) or --config moat.toml (its [store] dir).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>

#include "admin/audit_log.h"
#include "admin/principals.h"
#include "admin/totp.h"
#include "cli/release_commands.h"
#include "config/config.h"
#include "store/store.h"

namespace moat::cli {
namespace fs = std::filesystem;
namespace {

struct Where {
    std::string data_dir;
    std::string config_path;
};

void add_where(CLI::App* app, Where& w) {
    app->add_option("--data-dir,--data", w.data_dir, "Data folder (default ./moat-data)");
    app->add_option("--config,-c", w.config_path, "moat.toml (finds the store's folder)");
    app->footer("Exit codes: 0 done, 1 failed, 2 bad input.");
}

// The store folder and the admin part's files: [store] dir and [admin] of --config, else
// DIR/store with the paths the config would give (everything under the store folder).
// 0 or an exit code.
int locate(const char* cmd, const Where& w, std::string& dir, admin::AdminSettings& s) {
    if (!w.config_path.empty() && !w.data_dir.empty()) {
        std::fprintf(stderr, "moat %s: give --data-dir or --config, not both\n", cmd);
        return 2;
    }
    if (!w.config_path.empty()) {
        auto lr = config::load_file(w.config_path);
        if (!lr.config) {
            for (const auto& d : lr.diagnostics)
                std::fprintf(stderr, "%s\n", d.to_string().c_str());
            return 2;
        }
        dir = lr.config->store.dir;
        if (dir.empty()) dir = lr.config->data_dir + "/store";
        s = lr.config->admin;
    } else {
        dir = (w.data_dir.empty() ? std::string("moat-data") : w.data_dir) + "/store";
    }
    if (s.db_path.empty()) s.db_path = dir + "/admin.db";
    if (s.audit_db_path.empty()) s.audit_db_path = dir + "/audit.db";
    if (s.key_file.empty()) s.key_file = dir + "/admin.key";
    s.enabled = true;
    return 0;
}

std::string local_user() {
    const char* u = std::getenv("USER");
    return std::string("local:") + (u != nullptr && *u != '\0' ? u : std::to_string(::getuid()));
}

// Appends the offline action to the audit log, so the chain shows it like an API call.
void audit(const admin::AdminSettings& s, const std::string& action, const std::string& target,
           const std::string& detail) {
    auto log = admin::AuditLog::open(s);
    if (!log) {
        std::fprintf(stderr, "moat: warning: audit log not written: %s\n",
                     log.error().detail.c_str());
        return;
    }
    auto r =
        (*log)->append(admin::AuditEvent{"cli", local_user(), action, target, "ok", detail, ""});
    if (!r)
        std::fprintf(stderr, "moat: warning: audit log not written: %s\n",
                     r.error().detail.c_str());
}

int open_principals(const char* cmd, const Where& w, bool create,
                    std::unique_ptr<admin::Principals>& out, admin::AdminSettings& s) {
    std::string dir;
    if (int rc = locate(cmd, w, dir, s); rc != 0) return rc;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        if (!create) {
            std::fprintf(stderr, "moat %s: no store folder %s (wrong --data-dir or --config?)\n",
                         cmd, dir.c_str());
            return 1;
        }
        // Bootstrap before the first start: the folder the server will use, private.
        fs::create_directories(dir, ec);
        if (ec) {
            std::fprintf(stderr, "moat %s: cannot create %s: %s\n", cmd, dir.c_str(),
                         ec.message().c_str());
            return 1;
        }
        ::chmod(dir.c_str(), 0700);
    }
    auto p = admin::Principals::open(s);
    if (!p) {
        std::fprintf(stderr, "moat %s: %s\n", cmd, p.error().detail.c_str());
        return 1;
    }
    out = std::move(*p);
    return 0;
}

int run_principal_add(const Where& w, const std::string& name, const std::string& role_text) {
    auto role = admin::parse_role(role_text);
    if (!role) {
        std::fprintf(stderr, "moat principals add: --role: viewer, deployer, approver or admin\n");
        return 2;
    }
    std::unique_ptr<admin::Principals> p;
    admin::AdminSettings s;
    if (int rc = open_principals("principals add", w, true, p, s); rc != 0) return rc;
    auto e = p->create(name, *role);
    if (!e) {
        std::fprintf(stderr, "moat principals add: %s\n", e.error().detail.c_str());
        return e.error().code == Errc::kInvalidArgument || e.error().code == Errc::kConflict ? 2
                                                                                             : 1;
    }
    audit(s, "principal.create", name,
          std::string("{\"role\":\"") + std::string(admin::role_name(*role)) + "\"}");
    // The only time the token and secret are shown: both are stored hashed or sealed.
    std::printf("principal %s (%s) created\ntoken        %s\ntotp_secret  %s\notpauth_uri  %s\n",
                name.c_str(), std::string(admin::role_name(*role)).c_str(), e->token.c_str(),
                e->totp_secret.c_str(), e->otpauth_uri.c_str());
    if (auto qr = admin::qr_terminal(e->otpauth_uri); qr)
        std::printf("\nScan with an authenticator app:\n%s", qr->c_str());
    return 0;
}

int run_principal_list(const Where& w) {
    std::unique_ptr<admin::Principals> p;
    admin::AdminSettings s;
    if (int rc = open_principals("principals list", w, false, p, s); rc != 0) return rc;
    auto all = p->list();
    if (!all) {
        std::fprintf(stderr, "moat principals list: %s\n", all.error().detail.c_str());
        return 1;
    }
    for (const auto& q : *all) {
        std::time_t t = std::chrono::system_clock::to_time_t(q.created);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char when[32];
        std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        std::printf("%-24s %-9s %s\n", q.name.c_str(),
                    std::string(admin::role_name(q.role)).c_str(), when);
    }
    return 0;
}

int run_principal_remove(const Where& w, const std::string& name) {
    std::unique_ptr<admin::Principals> p;
    admin::AdminSettings s;
    if (int rc = open_principals("principals remove", w, false, p, s); rc != 0) return rc;
    if (auto r = p->remove(name); !r) {
        std::fprintf(stderr, "moat principals remove: %s\n", r.error().detail.c_str());
        return r.error().code == Errc::kNotFound ? 2 : 1;
    }
    audit(s, "principal.remove", name, "{}");
    std::printf("removed %s\n", name.c_str());
    return 0;
}

// The backup layout (src/app writes it): SRC/store/ for the store, and these beside it.
struct BackupFile {
    const char* name;
    bool required;
    bool secret;  // 0600
};
constexpr BackupFile kBackupFiles[] = {{"releases.db", true, false},
                                       {"admin.db", true, false},
                                       {"audit.db", true, false},
                                       {"admin.key", true, true},
                                       {"audit.db.head", false, false}};

int run_restore(const Where& w, const std::string& src) {
    std::string dir;
    admin::AdminSettings unused;
    if (int rc = locate("restore", w, dir, unused); rc != 0) return rc;
    auto rep = restore_backup(src, dir);
    if (!rep) {
        std::fprintf(stderr, "moat restore: %s\n", rep.error().detail.c_str());
        return rep.error().code == Errc::kInvalidArgument ? 2 : 1;
    }
    std::printf("restored into %s: %llu objects, %llu blobs, %llu bytes; start the server on it\n",
                dir.c_str(), static_cast<unsigned long long>(rep->objects),
                static_cast<unsigned long long>(rep->blobs),
                static_cast<unsigned long long>(rep->bytes));
    return 0;
}

}  // namespace

Result<store::BackupReport> restore_backup(const std::string& src, const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(src + "/store", ec))
        return make_error(Errc::kInvalidArgument,
                          src + "/store: not found (is " + src + " a backup?)");
    for (const auto& f : kBackupFiles) {
        if (f.required && !fs::is_regular_file(src + "/" + f.name, ec))
            return make_error(Errc::kInvalidArgument,
                              src + "/" + f.name + ": missing from the backup");
    }
    if (fs::exists(dir, ec))
        return make_error(Errc::kConflict,
                          dir + " exists; move it away first (restore never overwrites a store)");
    fs::create_directories(fs::path(dir).parent_path(), ec);
    store::StoreSettings ss;
    ss.enabled = true;
    ss.dir = dir;
    auto rep = store::Store::restore(src + "/store", ss);
    if (!rep) return rep.error();
    for (const auto& f : kBackupFiles) {
        std::string from = src + "/" + f.name, to = dir + "/" + f.name;
        if (!fs::exists(from, ec)) {
            std::fprintf(stderr, "moat restore: warning: %s not in the backup\n", f.name);
            continue;
        }
        fs::copy_file(from, to, fs::copy_options::none, ec);
        if (ec)
            return make_error(Errc::kIo, "copying " + from + " to " + to + ": " + ec.message() +
                                             " (the store is restored; copy the rest by hand)");
        if (f.secret) ::chmod(to.c_str(), 0600);
    }
    return rep;
}

void add_offline_commands(CLI::App& root, Commands& out) {
    auto w = std::make_shared<Where>();
    auto src = std::make_shared<std::string>();
    auto* restore = root.add_subcommand(
        "restore", "Restore a backup (moat backup) into a data folder; offline, server stopped");
    restore->add_option("src", *src, "Backup folder")->required();
    add_where(restore, *w);
    out.push_back({restore, [w, src] { return run_restore(*w, *src); }});

    auto* pr =
        root.add_subcommand("principals", "Admin API principals (offline, on the data folder)");
    pr->require_subcommand(1);
    auto name = std::make_shared<std::string>();
    auto role = std::make_shared<std::string>();
    auto* add = pr->add_subcommand("add", "Create a principal: prints its token and TOTP QR once");
    add->add_option("name", *name, "Principal name")->required();
    add->add_option("--role", *role, "viewer, deployer, approver or admin")->required();
    add_where(add, *w);
    out.push_back({add, [w, name, role] { return run_principal_add(*w, *name, *role); }});
    auto* list = pr->add_subcommand("list", "List principals");
    add_where(list, *w);
    out.push_back({list, [w] { return run_principal_list(*w); }});
    auto* rm = pr->add_subcommand("remove", "Remove a principal (its token stops working)");
    rm->add_option("name", *name, "Principal name")->required();
    add_where(rm, *w);
    out.push_back({rm, [w, name] { return run_principal_remove(*w, *name); }});
}

}  // namespace moat::cli

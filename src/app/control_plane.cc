#include "app/control_plane.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/service_tls.h"
#include "app/store_service.h"
#include "audit/headers_grade.h"
#include "core/log.h"
#include "store/sqlite_backup.h"

namespace moat::app {
namespace {

namespace fs = std::filesystem;

std::string store_dir(const config::Config& cfg) { return StoreService::settings(cfg).dir; }

// A release (deploy or promotion) of a site whose header policy grades below its min_grade is
// refused (issue 7's grade, enforced where content changes).
std::string header_policy_check(const site::SiteSettings& s) {
    auto r = audit::check_min_header_grade(s);
    return r ? std::string() : r.error().detail;
}

Result<void> copy_file_if_exists(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    if (!fs::exists(from, ec)) return {};
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) return make_error(Errc::kIo, "copy " + from.string() + ": " + ec.message());
    ::chmod(to.c_str(), 0600);
    return {};
}

}  // namespace

release::ReleaseSettings ControlPlane::release_settings(const config::Config& cfg) {
    release::ReleaseSettings r = cfg.release;
    r.enabled = true;
    if (r.db_path.empty()) r.db_path = (fs::path(store_dir(cfg)) / "releases.db").string();
    if (r.cache_dir.empty()) r.cache_dir = (fs::path(cfg.data_dir) / "cache").string();
    return r;
}

admin::AdminSettings ControlPlane::admin_settings(const config::Config& cfg) {
    admin::AdminSettings a = cfg.admin;
    const fs::path dir = store_dir(cfg);
    if (a.db_path.empty()) a.db_path = (dir / "admin.db").string();
    if (a.audit_db_path.empty()) a.audit_db_path = (dir / "audit.db").string();
    if (a.key_file.empty()) a.key_file = (dir / "admin.key").string();
    return a;
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::start(const config::Config& cfg,
                                                          store::Store& store, tls::InternalCa& ca,
                                                          std::uint16_t https_port) {
    std::unique_ptr<ControlPlane> cp(new ControlPlane());
    cp->store_ = &store;
    cp->rsettings_ = release_settings(cfg);
    cp->asettings_ = admin_settings(cfg);
    cp->catalog_ = std::make_shared<release::Catalog>(store, cp->rsettings_);
    release::ServiceOptions so;
    so.https_port = https_port;
    so.policy_check = header_policy_check;
    auto rs = release::ReleaseService::open(store, *cp->catalog_, cp->rsettings_, so);
    if (!rs) return make_error(rs.error().code, "releases: " + rs.error().detail);
    cp->releases_ = std::move(*rs);
    MOAT_TRY(cp->set_sites(cfg));
    cp->releases_->start();

    // The audit log records S3 writes whether or not the admin listener runs.
    auto audit = admin::AuditLog::open(cp->asettings_);
    if (!audit) return make_error(audit.error().code, "audit log: " + audit.error().detail);
    cp->audit_ = std::move(*audit);
    auto principals = admin::Principals::open(cp->asettings_);
    if (!principals)
        return make_error(principals.error().code, "principals: " + principals.error().detail);
    cp->principals_ = std::move(*principals);
    if (!cp->asettings_.enabled) return cp;

    auto ctx = service_tls(cfg, cp->asettings_.hosts, cp->asettings_.listen, false, ca);
    if (!ctx) return make_error(ctx.error().code, "admin certificate: " + ctx.error().detail);
    cp->tls_ = std::move(*ctx);
    admin::AdminDeps deps;
    deps.principals = cp->principals_.get();
    deps.audit = cp->audit_.get();
    deps.releases = cp->releases_.get();
    ControlPlane* self = cp.get();
    deps.backup = [self](const std::string& dest) { return self->backup(dest); };
    cp->handler_ = std::make_shared<admin::AdminHandler>(cp->asettings_, std::move(deps));
    edge::ServiceSettings es;
    es.name = "admin";
    es.listen = cp->asettings_.listen;
    es.max_connections = cp->asettings_.max_connections;
    auto server = edge::ServiceServer::create(es, cp->tls_, cp->handler_);
    if (!server) return make_error(server.error().code, "admin listener: " + server.error().detail);
    cp->server_ = std::move(*server);
    cp->server_->start();
    core::logger("admin")->info("admin api listening on {}",
                                fmt::join(cp->asettings_.listen, ", "));
    return cp;
}

ControlPlane::~ControlPlane() { stop(); }

void ControlPlane::stop() {
    if (stopped_) return;
    stopped_ = true;
    if (server_) server_->stop();
    if (releases_) releases_->stop();
}

std::vector<std::uint16_t> ControlPlane::admin_ports() const {
    return server_ ? server_->ports() : std::vector<std::uint16_t>{};
}

Result<void> ControlPlane::set_sites(const config::Config& cfg) {
    MOAT_TRY(releases_->set_sites(cfg.sites));
    sites_ = cfg.sites;
    return {};
}

void ControlPlane::on_s3_write(const s3::WriteEvent& e) {
    if (audit_) {
        admin::AuditEvent a;
        a.source = "s3";
        a.principal = e.principal.empty() ? "-" : e.principal;
        a.action = "s3:" + e.operation;
        a.target = e.key.empty() ? e.bucket : e.bucket + "/" + e.key;
        a.outcome = e.status < 300 ? "ok" : "error: " + e.error_code;
        nlohmann::json d = nlohmann::json::object();
        d["status"] = e.status;
        if (!e.version_id.empty()) d["version_id"] = e.version_id;
        a.detail = d.dump();
        a.peer = e.peer_ip;
        if (auto r = audit_->append(std::move(a)); !r)
            core::logger("admin")->error("audit log append failed: {}", r.error().detail);
    }
    if (e.status >= 300 || !releases_) return;
    if (!e.key.empty()) return releases_->on_s3_write(e.bucket, e.key);
    // Other key-less writes set bucket settings (lifecycle, versioning, policy) and change no
    // object: a rebuild for them made an empty first release of every store environment that
    // had none yet.
    if (e.operation != "DeleteObjects") return;
    // DeleteObjects names its keys in the body: every store environment may have changed (a
    // rebuild that finds nothing new makes no release).
    for (const auto& s : sites_)
        for (const auto& env : s.environments)
            if (env.from_store) releases_->on_s3_write(e.bucket, env.name + "/" + s.name + "/");
}

Result<std::string> ControlPlane::backup(const std::string& dest) {
    const fs::path d(dest);
    if (!d.is_absolute())
        return make_error(Errc::kInvalidArgument, "backup folder must be absolute");
    std::error_code ec;
    if (fs::exists(d, ec) && !fs::is_empty(d, ec))
        return make_error(Errc::kConflict, dest + " exists and is not empty");
    fs::create_directories(d, ec);
    if (ec) return make_error(Errc::kIo, "create " + dest + ": " + ec.message());
    ::chmod(d.c_str(), 0700);
    // Release and admin databases first, then the store: every version a backed-up release
    // names is held, so it is still in the store when the store's snapshot is taken.
    MOAT_TRY(store::sqlite_backup(rsettings_.db_path, (d / "releases.db").string()));
    MOAT_TRY(store::sqlite_backup(asettings_.db_path, (d / "admin.db").string()));
    MOAT_TRY(store::sqlite_backup(asettings_.audit_db_path, (d / "audit.db").string()));
    MOAT_TRY(copy_file_if_exists(asettings_.audit_db_path + ".head", d / "audit.db.head"));
    MOAT_TRY(copy_file_if_exists(asettings_.key_file, d / "admin.key"));
    auto rep = store_->backup((d / "store").string());
    if (!rep) return rep.error();
    nlohmann::json j;
    j["objects"] = rep->objects;
    j["blobs"] = rep->blobs;
    j["bytes"] = rep->bytes;
    return j.dump();
}

}  // namespace moat::app

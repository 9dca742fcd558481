#include "app/acme_service.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "acme/renewal.h"
#include "core/log.h"

namespace moat::app {

tls::TlsSettings tls_with_acme_paths(const config::Config& cfg) {
    tls::TlsSettings t = cfg.tls;
    std::string state = cfg.acme.state_dir.empty() ? cfg.data_dir + "/acme" : cfg.acme.state_dir;
    for (auto& spec : t.certs) {
        if (spec.source != tls::CertSource::kAcme || spec.names.empty()) continue;
        if (spec.cert_file.empty() || spec.key_file.empty()) {
            // Same layout as config/acme.cc: a wildcard's '*' becomes '_'.
            std::string host = spec.names[0];
            for (char& c : host)
                if (c == '*') c = '_';
            spec.cert_file = state + "/certs/" + host + "/fullchain.pem";
            spec.key_file = state + "/certs/" + host + "/privkey.pem";
        }
        // key_type = ["ecdsa-p256", "rsa2048"]: the RSA certificate lives beside the ECDSA one.
        if (cfg.acme.rsa_extra && spec.rsa_cert_file.empty()) {
            std::string dir = std::filesystem::path(spec.cert_file).parent_path().string();
            spec.rsa_cert_file = dir + "/fullchain-rsa.pem";
            spec.rsa_key_file = dir + "/privkey-rsa.pem";
        }
    }
    return t;
}

std::vector<acme::ManagedCert> managed_certs(const config::Config& cfg) {
    std::vector<acme::ManagedCert> out;
    for (const auto& spec : tls_with_acme_paths(cfg).certs) {
        if (spec.source != tls::CertSource::kAcme || spec.names.empty()) continue;
        out.push_back({spec.names[0], spec.names, spec.cert_file, spec.key_file, spec.rsa_cert_file,
                       spec.rsa_key_file});
    }
    return out;
}

Result<std::unique_ptr<AcmeService>> AcmeService::create(const config::Config& cfg,
                                                         store::Store* store,
                                                         std::function<void()> on_change) {
    auto certs = managed_certs(cfg);
    if (certs.empty()) return std::unique_ptr<AcmeService>();
    acme::AcmeSettings settings = cfg.acme;
    settings.enabled = true;
    if (settings.state_dir.empty()) settings.state_dir = cfg.data_dir + "/acme";
    std::unique_ptr<AcmeService> s(new AcmeService());
    s->board_ = std::make_shared<acme::ChallengeBoard>();
    acme::ManagerOptions opts;
    if (store != nullptr) {
        auto st = acme::open_store_state(*store, settings.state_dir);
        if (!st) return make_error(st.error().code, "acme: store: " + st.error().detail);
        opts.state = std::move(*st);
    }
    auto m = acme::Manager::create(settings, std::move(certs), s->board_, std::move(on_change),
                                   std::move(opts));
    if (!m) return make_error(m.error().code, "acme: " + m.error().detail);
    s->manager_ = std::move(*m);
    return s;
}

AcmeService::~AcmeService() { stop(); }

std::shared_ptr<edge::Handler> AcmeService::http_handler() const {
    return acme::ChallengeBoard::http_handler(board_);
}

tls::ServerContext::AlpnChallengeProvider AcmeService::alpn_provider() const {
    return acme::ChallengeBoard::alpn_provider(board_);
}

// A host with rsa2048 has two certificates under one name: the gauges report the one that
// expires first and the one failing most.
double AcmeService::days_left(const std::string& name) const {
    std::optional<double> least;
    for (const auto& st : manager_->status()) {
        if (st.name != name) continue;
        double d =
            st.has_cert ? acme::days_left(std::chrono::system_clock::now(), st.not_after) : 0;
        least = std::min(least.value_or(d), d);
    }
    return least.value_or(0);
}

double AcmeService::failures(const std::string& name) const {
    int most = 0;
    for (const auto& st : manager_->status())
        if (st.name == name) most = std::max(most, st.failures);
    return most;
}

void AcmeService::register_metrics(edge::Metrics& m) {
    auto log = core::logger("acme");
    for (const auto& st : manager_->status()) {
        if (st.rsa) continue;  // same name as its ECDSA sibling: one gauge covers both
        // kConflict: registered before this reload; the reader finds the name again.
        auto a = m.add_gauge("moat_acme_certificate_expiry_days",
                             "Days until the ACME certificate expires (0 when none is issued)",
                             [this, n = st.name] { return days_left(n); }, {{"name", st.name}});
        auto b = m.add_gauge("moat_acme_certificate_failures",
                             "Consecutive failed orders of the ACME certificate",
                             [this, n = st.name] { return failures(n); }, {{"name", st.name}});
        for (const auto* r : {&a, &b})
            if (!*r && r->error().code != Errc::kConflict)
                log->warn("metric not registered name={} err={}", st.name, r->error().detail);
    }
    (void)m.add_counter("moat_acme_order_failures_total", "ACME orders that failed",
                        [this] { return static_cast<double>(manager_->failed_orders()); });
}

void AcmeService::start() { manager_->start(); }

void AcmeService::stop() {
    if (manager_) manager_->stop();
}

void AcmeService::reload(const config::Config& cfg) { manager_->set_certs(managed_certs(cfg)); }

}  // namespace moat::app

#pragma once
// The ACME part wired into the running server: the acme::Manager (its own thread), the
// challenge board behind the http-01 handler and the tls-alpn-01 provider, and the metrics.
// Owned by Runtime; exists only when some site has tls = "acme".

#include <functional>
#include <memory>
#include <vector>

#include "acme/challenge_board.h"
#include "acme/manager.h"
#include "config/config.h"
#include "edge/handler.h"
#include "edge/metrics.h"
#include "store/store.h"
#include "tls/server_context.h"

namespace moat::app {

// cfg.tls with every tls = "acme" entry pointing at its files under <data_dir>/acme/certs/<host>/
// (with acme.key_type "rsa2048" also at fullchain-rsa.pem / privkey-rsa.pem there).
// config/acme.cc does this for sites; entries added by sections read after [acme] (mail's
// mta-sts.<domain> policy hosts) get it here. Runtime builds its CertTable from the result.
tls::TlsSettings tls_with_acme_paths(const config::Config& cfg);

// The certificates to manage: every tls = "acme" entry (names, files).
std::vector<acme::ManagedCert> managed_certs(const config::Config& cfg);

class AcmeService {
public:
    // Null (and no error) when no certificate entry uses ACME. `on_change` runs on the manager's
    // thread after new certificate files were written: rebuild and swap the CertTable there.
    // With `store` (must outlive the service) the ACME state lives in its `moat-acme` bucket
    // (a data folder's older state is imported on first use); without, in <data_dir>/acme.
    static Result<std::unique_ptr<AcmeService>> create(const config::Config& cfg,
                                                       store::Store* store,
                                                       std::function<void()> on_change);
    ~AcmeService();

    std::shared_ptr<edge::Handler> http_handler() const;
    tls::ServerContext::AlpnChallengeProvider alpn_provider() const;

    // Gauges moat_acme_certificate_expiry_days / moat_acme_certificate_failures per
    // certificate and the counter moat_acme_order_failures_total. Safe to call again after a
    // reload: names already registered are kept.
    void register_metrics(edge::Metrics& m);

    void start();
    void stop();
    void reload(const config::Config& cfg);

private:
    AcmeService() = default;
    double days_left(const std::string& name) const;
    double failures(const std::string& name) const;

    std::shared_ptr<acme::ChallengeBoard> board_;
    std::unique_ptr<acme::Manager> manager_;
};

}  // namespace moat::app

#pragma once
// The TLS-RPT receiver's listener: an edge::ServiceServer on [mail] tlsrpt_listen with its own
// TLS context (same certificates as the edge, ALPN http/1.1 only since the service server does
// not speak HTTP/2) and a TlsRptHandler. Built and owned by app::Runtime; start() binds at once,
// stop() joins the pool (bounded). Off unless tlsrpt_listen is set. Reports go into the store's
// `logs` bucket (TlsRptBucket) when given a store, else into settings.tlsrpt_dir.

#include <memory>
#include <vector>

#include "core/result.h"
#include "edge/service.h"
#include "mail/settings.h"
#include "tls/cert_table.h"
#include "tls/settings.h"

namespace moat::tls {
class ServerContext;
}
namespace moat::store {
class Store;
}

namespace moat::mail {

class TlsRptHandler;

class TlsRptService {
public:
    // Null (and no error) when settings.tlsrpt_listen is empty. `store`: where reports go (its
    // `logs` bucket), null for the folder; it must outlive the service, or at least its stop().
    static Result<std::unique_ptr<TlsRptService>> start(const MailSettings& settings,
                                                        const tls::TlsSettings& tls,
                                                        std::shared_ptr<const tls::CertTable> certs,
                                                        store::Store* store = nullptr);
    ~TlsRptService();
    void set_certs(std::shared_ptr<const tls::CertTable> certs);
    // Reload: the policy domains reports are taken for (the listen addresses need a restart).
    void set_domains(const MailSettings& settings);
    void stop();
    std::vector<std::uint16_t> ports() const;

private:
    TlsRptService() = default;
    std::shared_ptr<tls::ServerContext> tls_;
    std::shared_ptr<TlsRptHandler> handler_;
    std::unique_ptr<edge::ServiceServer> server_;
    bool stopped_ = false;
};

}  // namespace moat::mail

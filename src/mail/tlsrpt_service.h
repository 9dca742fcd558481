#pragma once
// The TLS-RPT receiver's listener: an edge::ServiceServer on [mail] tlsrpt_listen with its own
// TLS context (same certificates as the edge, ALPN http/1.1 only since the service server does
// not speak HTTP/2) and a TlsRptHandler. Built and owned by app::Runtime; start() binds at once,
// stop() joins the pool (bounded). Off unless tlsrpt_listen is set. Reports go into the store's
// `logs` bucket (TlsRptBucket) when given a store, else into settings.tlsrpt_dir.
// One ServiceServer per listen address, so a reload can add and remove addresses one by one
// while the unchanged ones keep their socket and connections. Methods may be called from any
// thread (a mutex guards the listeners).

#include <memory>
#include <mutex>
#include <string>
#include <utility>
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
    // Reload: the policy domains reports are taken for.
    void set_domains(const MailSettings& settings);
    // Reload: listen on `listen` from now on. New addresses are bound and serving before
    // removed ones close (their in-flight requests finish, bounded by the pool's stop); kept
    // ones are untouched. If any new address cannot be bound, nothing changes and the error
    // names it (kInvalidArgument for a malformed address, the bind error otherwise). Empty:
    // listen nowhere (the service stays, a later reload may listen again). After stop(): no-op.
    Result<void> set_listen(const std::vector<std::string>& listen);
    void stop();
    std::vector<std::uint16_t> ports() const;  // in listen order

private:
    TlsRptService() = default;
    Result<std::unique_ptr<edge::ServiceServer>> listen_on(const std::string& address) const;

    std::shared_ptr<tls::ServerContext> tls_;
    std::shared_ptr<TlsRptHandler> handler_;
    mutable std::mutex mu_;
    // (address, its listener), in listen order.
    std::vector<std::pair<std::string, std::unique_ptr<edge::ServiceServer>>> servers_;
    bool stopped_ = false;
};

}  // namespace moat::mail

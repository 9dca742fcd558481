#include "app/service_tls.h"

#include <algorithm>

#include "tls/build_cert_table.h"

namespace moat::app {

Result<std::shared_ptr<tls::ServerContext>> service_tls(const config::Config& cfg,
                                                        const std::vector<std::string>& hosts,
                                                        const std::vector<std::string>& listen,
                                                        bool wildcards, tls::InternalCa& ca) {
    tls::TlsSettings t = cfg.tls;
    t.certs.clear();
    tls::CertSpec spec;
    spec.source = tls::CertSource::kInternal;
    for (const auto& h : hosts) spec.names.push_back(h);
    // Virtual-host-style requests name "<bucket>.<host>". A wildcard stands for one label
    // (RFC 6125 §6.4.3), so bucket names with dots still need path-style addressing; and
    // clients refuse wildcards directly under a single label ("*.localhost"), so those hosts
    // get none (use path style, or name the bucket host in [s3] hosts).
    if (wildcards)
        for (const auto& h : hosts)
            if (h.find(':') == std::string::npos && h.find('.') != std::string::npos &&
                !(h[0] >= '0' && h[0] <= '9'))
                spec.names.push_back("*." + h);
    // Clients that dial the listen address itself ("https://127.0.0.1:9000").
    for (const auto& l : listen) {
        std::string a = l.substr(0, l.rfind(':'));
        if (a.size() > 2 && a.front() == '[') a = a.substr(1, a.size() - 2);
        if (a != "0.0.0.0" && a != "::" &&
            std::find(spec.names.begin(), spec.names.end(), a) == spec.names.end())
            spec.names.push_back(a);
    }
    t.certs.push_back(std::move(spec));
    t.default_host = hosts.empty() ? std::string() : hosts.front();
    auto certs = tls::build_cert_table(t, &ca);
    if (!certs) return certs.error();
    auto ctx = tls::ServerContext::create(t);
    if (!ctx) return ctx.error();
    (*ctx)->set_certs(std::move(*certs));
    (*ctx)->offer_http11_only();
    return std::move(*ctx);
}

}  // namespace moat::app

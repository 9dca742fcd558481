#include "tls/build_cert_table.h"

namespace moat::tls {
namespace {

Result<std::shared_ptr<const CertKey>> load_spec(const CertSpec& spec, InternalCa* ca) {
    switch (spec.source) {
        case CertSource::kInternal:
            if (ca == nullptr) {
                return make_error(Errc::kInvalidArgument, "internal certificate for " +
                                                              spec.names[0] +
                                                              " needs an internal CA directory");
            }
            return ca->issue(spec.names);
        case CertSource::kFiles: {
            auto cert = load_cert_key_files(spec.cert_file, spec.key_file);
            if (!cert) return cert;
            for (const std::string& name : spec.names) {
                if (!(*cert)->covers(name)) {
                    return make_error(Errc::kInvalidArgument,
                                      spec.cert_file + ": certificate does not cover " + name);
                }
            }
            return cert;
        }
        case CertSource::kAcme:
            // TODO(acme): the ACME part provides these; until then such hosts cannot start.
            return make_error(Errc::kUnavailable,
                              "acme certificates not yet supported (" + spec.names[0] + ")");
    }
    return make_error(Errc::kInternal, "unknown certificate source");
}

}  // namespace

Result<std::shared_ptr<const CertTable>> build_cert_table(const TlsSettings& settings,
                                                          InternalCa* ca) {
    auto table = std::make_shared<CertTable>();
    for (const CertSpec& spec : settings.certs) {
        if (spec.names.empty())
            return make_error(Errc::kInvalidArgument, "certificate entry without names");
        auto cert = load_spec(spec, ca);
        if (!cert) return cert.error();
        for (const std::string& name : spec.names) {
            if (auto added = table->add(name, *cert); !added) return added.error();
        }
    }
    if (!settings.default_host.empty()) {
        if (!table->set_default(settings.default_host)) {
            return make_error(Errc::kInvalidArgument,
                              "default_host " + settings.default_host + " has no certificate");
        }
    }
    return std::shared_ptr<const CertTable>(std::move(table));
}

}  // namespace moat::tls

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
        case CertSource::kAcme: {
            // The ACME part writes cert_file/key_file once issued (config points them into
            // <data_dir>/acme). Until then, or if the files are unusable, the entry is skipped:
            // its names get no certificate (handshakes fail with unrecognized_name) while the
            // ACME manager orders one and swaps a new table in.
            if (spec.cert_file.empty() || spec.key_file.empty())
                return std::shared_ptr<const CertKey>();
            auto cert = load_cert_key_files(spec.cert_file, spec.key_file);
            if (!cert) return std::shared_ptr<const CertKey>();
            return cert;
        }
    }
    return make_error(Errc::kInternal, "unknown certificate source");
}

// The optional RSA certificate beside the entry's main one. kFiles: must load and cover every
// name, like the main files. kAcme: null until the ACME part has written it (the entry is
// served with its ECDSA certificate alone meanwhile).
Result<std::shared_ptr<const CertKey>> load_rsa(const CertSpec& spec, InternalCa* ca) {
    if (spec.source == CertSource::kInternal && spec.internal_rsa && spec.rsa_cert_file.empty() &&
        spec.rsa_key_file.empty()) {
        if (ca == nullptr) return make_error(Errc::kInvalidArgument, "no internal CA");
        return ca->issue(spec.names, InternalCa::LeafKey::kRsa2048);
    }
    if (spec.rsa_cert_file.empty() && spec.rsa_key_file.empty())
        return std::shared_ptr<const CertKey>();
    if (spec.source == CertSource::kInternal) {
        return make_error(Errc::kInvalidArgument, "internal certificate for " + spec.names[0] +
                                                      " takes no RSA files (internal_rsa)");
    }
    auto cert = load_cert_key_files(spec.rsa_cert_file, spec.rsa_key_file);
    if (spec.source == CertSource::kAcme) return cert ? *cert : std::shared_ptr<const CertKey>();
    if (!cert) return cert;
    if (EVP_PKEY_get_base_id((*cert)->key()) != EVP_PKEY_RSA)
        return make_error(Errc::kInvalidArgument, spec.rsa_cert_file + ": not an RSA key");
    for (const std::string& name : spec.names) {
        if (!(*cert)->covers(name)) {
            return make_error(Errc::kInvalidArgument,
                              spec.rsa_cert_file + ": certificate does not cover " + name);
        }
    }
    return cert;
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
        if (!*cert) continue;  // kAcme, not issued yet
        auto rsa = load_rsa(spec, ca);
        if (!rsa) return rsa.error();
        // kAcme: a stored RSA certificate that is not RSA (a hand-edited file) is not served.
        if (*rsa && EVP_PKEY_get_base_id((*rsa)->key()) != EVP_PKEY_RSA) rsa->reset();
        for (const std::string& name : spec.names) {
            // kAcme: names added to the config since the last order wait for the next one.
            if (spec.source == CertSource::kAcme && !(*cert)->covers(name)) continue;
            std::shared_ptr<const CertKey> extra;
            if (*rsa && (*rsa)->covers(name)) extra = *rsa;
            if (auto added = table->add(name, *cert, extra); !added) return added.error();
        }
    }
    if (!settings.default_host.empty()) {
        bool acme_pending = false;  // the default host's ACME certificate is not issued yet
        for (const CertSpec& spec : settings.certs)
            for (const std::string& n : spec.names)
                if (n == settings.default_host && spec.source == CertSource::kAcme)
                    acme_pending = true;
        if (!table->set_default(settings.default_host) && !acme_pending) {
            return make_error(Errc::kInvalidArgument,
                              "default_host " + settings.default_host + " has no certificate");
        }
    }
    return std::shared_ptr<const CertTable>(std::move(table));
}

}  // namespace moat::tls

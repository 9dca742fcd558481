#include "tls/cert_table.h"

#include "tls/internal/names.h"

namespace moat::tls {

Result<void> CertTable::add(std::string_view name, std::shared_ptr<const CertKey> cert) {
    if (!cert) return make_error(Errc::kInvalidArgument, "no certificate for " + std::string(name));
    auto canon = internal::canonical_name(name);
    if (!canon) {
        return make_error(Errc::kInvalidArgument,
                          "not a host name, wildcard or IP literal: " + std::string(name));
    }
    bool wildcard = canon->rfind("*.", 0) == 0;
    auto& map = wildcard ? wildcard_ : exact_;
    std::string key = wildcard ? canon->substr(2) : *canon;
    if (!map.emplace(std::move(key), std::move(cert)).second)
        return make_error(Errc::kConflict, "name has two certificates: " + *canon);
    return {};
}

Result<void> CertTable::set_default(std::string_view name) {
    const auto* cert = lookup(name);
    if (cert == nullptr)
        return make_error(Errc::kNotFound, "no certificate for " + std::string(name));
    default_name_ = internal::canonical_name(name).value_or(std::string(name));
    default_ = *cert;
    return {};
}

const CertKey* CertTable::find(std::string_view host) const {
    const auto* cert = lookup(host);
    return cert == nullptr ? nullptr : cert->get();
}

const std::shared_ptr<const CertKey>* CertTable::lookup(std::string_view host) const {
    if (auto ip = internal::canonical_ip(host)) {
        auto it = exact_.find(*ip);
        return it == exact_.end() ? nullptr : &it->second;  // no wildcards for IPs
    }
    std::string h = internal::normalize_host(host);
    if (auto it = exact_.find(h); it != exact_.end()) return &it->second;
    std::size_t dot = h.find('.');
    if (dot == std::string::npos || dot == 0) return nullptr;
    // A wildcard stands for exactly one label (RFC 6125 §6.4.3), so only the parent domain of
    // the host can hold it.
    auto it = wildcard_.find(h.substr(dot + 1));
    return it == wildcard_.end() ? nullptr : &it->second;
}

}  // namespace moat::tls

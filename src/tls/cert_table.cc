#include "tls/cert_table.h"

#include "tls/internal/names.h"

namespace moat::tls {
namespace {

bool is_rsa(const CertKey& ck) { return EVP_PKEY_get_base_id(ck.key()) == EVP_PKEY_RSA; }

}  // namespace

Result<void> CertTable::add(std::string_view name, std::shared_ptr<const CertKey> cert,
                            std::shared_ptr<const CertKey> rsa) {
    if (!cert) return make_error(Errc::kInvalidArgument, "no certificate for " + std::string(name));
    // SSL_use_cert_and_key fills one slot per key type: a second RSA certificate would replace
    // the first instead of standing beside it.
    if (rsa && (!is_rsa(*rsa) || is_rsa(*cert))) {
        return make_error(Errc::kInvalidArgument, "the extra certificate for " + std::string(name) +
                                                      " must be the only one with an RSA key");
    }
    auto canon = internal::canonical_name(name);
    if (!canon) {
        return make_error(Errc::kInvalidArgument,
                          "not a host name, wildcard or IP literal: " + std::string(name));
    }
    bool wildcard = canon->rfind("*.", 0) == 0;
    auto& map = wildcard ? wildcard_ : exact_;
    std::string key = wildcard ? canon->substr(2) : *canon;
    if (!map.emplace(std::move(key), CertEntry{std::move(cert), std::move(rsa)}).second)
        return make_error(Errc::kConflict, "name has two certificates: " + *canon);
    return {};
}

Result<void> CertTable::set_default(std::string_view name) {
    const CertEntry* entry = find_entry(name);
    if (entry == nullptr)
        return make_error(Errc::kNotFound, "no certificate for " + std::string(name));
    default_name_ = internal::canonical_name(name).value_or(std::string(name));
    default_ = *entry;
    return {};
}

const CertKey* CertTable::find(std::string_view host) const {
    const CertEntry* entry = find_entry(host);
    return entry == nullptr ? nullptr : entry->cert.get();
}

const CertEntry* CertTable::find_entry(std::string_view host) const {
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

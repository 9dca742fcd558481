#include "mail/dane.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "mail/grammar.h"

namespace moat::mail {
namespace {

std::string normal_name(std::string_view name) {
    std::string out = grammar::to_lower(name);
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr parse_der(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

// Matching type 0: the selected bytes themselves; 1: SHA-256; 2: SHA-512 (RFC 6698 §2.1.3).
std::string digest(const std::string& data, int mtype) {
    if (mtype == 0) return data;
    const EVP_MD* md = mtype == 1 ? EVP_sha256() : EVP_sha512();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) return "";
    return std::string(reinterpret_cast<char*>(out), n);
}

// Selector 0: the whole certificate; 1: its SubjectPublicKeyInfo (RFC 6698 §2.1.2).
std::string selected(const std::string& der, int selector) {
    if (selector == 0) return der;
    X509Ptr x = parse_der(der);
    if (!x) return "";
    unsigned char* spki = nullptr;
    int n = i2d_PUBKEY(X509_get0_pubkey(x.get()), &spki);
    std::string out = n > 0 ? std::string(reinterpret_cast<char*>(spki), n) : "";
    OPENSSL_free(spki);
    return out;
}

// DNS-IDs only, a wildcard only as the whole left-most label (RFC 6125 §6.4.3, RFC 7672 §3.2.3).
bool names_any(const std::string& leaf_der, const std::vector<std::string>& names) {
    X509Ptr x = parse_der(leaf_der);
    if (!x) return false;
    for (const auto& n : names) {
        if (X509_check_host(
                x.get(), n.data(), n.size(),
                X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                nullptr) == 1)
            return true;
    }
    return false;
}

}  // namespace

TlsaBase find_tlsa_base(const std::string& mx_host, const DnsAnswer& address,
                        const TlsaLookup& lookup) {
    TlsaBase b;
    b.original = normal_name(mx_host);
    b.target = address.canonical.empty() ? b.original : normal_name(address.canonical);
    b.alias = b.target != b.original;
    b.secure_alias = b.alias && address.secure;
    if (b.secure_alias) {
        b.base = b.target;
        b.reference_ids = {b.target, b.original};
        b.tlsa = lookup(b.owner());
        if (!b.tlsa.absent()) return b;  // found there, or the lookup failed: stop
    }
    // Not an alias, an insecure one (its target is not authenticated, RFC 7671 §7), or a
    // secure one without TLSA records at the target: the original name.
    b.base = b.original;
    b.tlsa = lookup(b.owner());
    if (!b.secure_alias) b.reference_ids = {b.original};
    return b;
}

TlsaMatch match_tlsa(const std::vector<TlsaRecord>& records, const std::vector<std::string>& chain,
                     const std::vector<std::string>& reference_ids) {
    TlsaMatch m;
    for (const auto& t : records) {
        if ((t.usage != 2 && t.usage != 3) || t.selector > 1 || t.mtype > 2) continue;
        for (std::size_t i = 0; i < chain.size(); ++i) {
            if ((t.usage == 3) != (i == 0)) continue;  // EE: the leaf only; TA: the others
            std::string sel = selected(chain[i], t.selector);
            if (sel.empty() || digest(sel, t.mtype) != t.data) continue;
            if (t.usage == 3 || names_any(chain[0], reference_ids)) {
                m.matched = true;
                m.usage = t.usage;
                m.ta_name_mismatch = false;
                return m;
            }
            m.ta_name_mismatch = true;
        }
    }
    return m;
}

}  // namespace moat::mail

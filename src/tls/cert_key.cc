#include "tls/cert_key.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "tls/init.h"
#include "tls/internal/names.h"
#include "tls/internal/ossl.h"

namespace moat::tls {
namespace {

using internal::ossl_error;

// Security level 2 (SSL_CTX_set_security_level) means 112-bit security: SSL_use_cert_and_key
// would refuse weaker keys or signatures at handshake time; we refuse them at load time so the
// operator sees the reason instead of failed handshakes.
constexpr int kMinSecurityBits = 112;

std::chrono::system_clock::time_point asn1_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::vector<std::string> san_names(X509* leaf) {
    std::vector<std::string> out;
    auto* gens =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
    if (gens == nullptr) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            const ASN1_STRING* s = g->d.dNSName;
            std::string_view v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<std::size_t>(ASN1_STRING_length(s)));
            if (v.find('\0') != std::string_view::npos) continue;  // never match a forged name
            out.push_back(internal::normalize_host(v));
        } else if (g->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* s = g->d.iPAddress;
            int len = ASN1_STRING_length(s);
            char buf[INET6_ADDRSTRLEN];
            int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
            if (af != 0 && inet_ntop(af, ASN1_STRING_get0_data(s), buf, sizeof buf))
                out.emplace_back(buf);
        }
    }
    GENERAL_NAMES_free(gens);
    return out;
}

Result<void> check_signature_strength(X509* cert, const char* which) {
    // A self-signed signature is never checked by clients (trust comes from the store).
    if ((X509_get_extension_flags(cert) & EXFLAG_SS) != 0) return {};
    int secbits = 0;
    if (X509_get_signature_info(cert, nullptr, nullptr, &secbits, nullptr) != 1 ||
        secbits < kMinSecurityBits) {
        ERR_clear_error();
        return make_error(Errc::kInvalidArgument, std::string(which) +
                                                      " signature is weaker than 112-bit security "
                                                      "(security level 2 refuses SHA-1 and MD5)");
    }
    return {};
}

}  // namespace

CertKey::CertKey(X509* leaf, STACK_OF(X509) * chain, EVP_PKEY* key)
    : leaf_(leaf), chain_(chain != nullptr ? chain : sk_X509_new_null()), key_(key) {
    names_ = san_names(leaf_);
    not_before_ = asn1_time(X509_get0_notBefore(leaf_));
    not_after_ = asn1_time(X509_get0_notAfter(leaf_));
}

CertKey::~CertKey() {
    X509_free(leaf_);
    sk_X509_pop_free(chain_, X509_free);
    EVP_PKEY_free(key_);
}

bool CertKey::covers(std::string_view name) const {
    auto want = internal::canonical_name(name);
    if (!want) return false;
    for (const std::string& have : names_) {
        if (internal::name_matches(have, *want)) return true;
    }
    return false;
}

Result<std::shared_ptr<const CertKey>> load_cert_key_pem(std::string_view cert_pem,
                                                         std::string_view key_pem) {
    init_openssl();
    ERR_clear_error();
    internal::BioPtr cbio = internal::mem_bio(cert_pem);
    if (!cbio) return ossl_error(Errc::kInternal, "BIO_new_mem_buf");
    internal::X509Ptr leaf(PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr));
    if (!leaf) return ossl_error(Errc::kInvalidArgument, "no PEM certificate found");
    internal::ChainPtr chain(sk_X509_new_null());
    if (!chain) return ossl_error(Errc::kInternal, "sk_X509_new_null");
    while (X509* extra = PEM_read_bio_X509(cbio.get(), nullptr, nullptr, nullptr)) {
        if (sk_X509_push(chain.get(), extra) == 0) {
            X509_free(extra);
            return ossl_error(Errc::kInternal, "sk_X509_push");
        }
    }
    // Running out of PEM blocks ends the loop with a "no start line" error; anything else is
    // a damaged block in the middle of the chain.
    unsigned long last = ERR_peek_last_error();
    if (last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE)
        return ossl_error(Errc::kInvalidArgument, "damaged certificate in PEM chain");
    ERR_clear_error();

    internal::BioPtr kbio = internal::mem_bio(key_pem);
    if (!kbio) return ossl_error(Errc::kInternal, "BIO_new_mem_buf");
    // A password callback that supplies nothing: an encrypted key fails instead of OpenSSL's
    // default callback prompting on the terminal.
    pem_password_cb* no_password = [](char*, int, int, void*) { return 0; };
    internal::PkeyPtr key(PEM_read_bio_PrivateKey(kbio.get(), nullptr, no_password, nullptr));
    if (!key) {
        ERR_clear_error();  // its text could echo parts of the PEM input
        return make_error(Errc::kInvalidArgument,
                          "no usable PEM private key (missing, damaged or encrypted)");
    }
    if (X509_check_private_key(leaf.get(), key.get()) != 1) {
        ERR_clear_error();
        return make_error(Errc::kInvalidArgument, "private key does not match the certificate");
    }
    if (EVP_PKEY_get_security_bits(key.get()) < kMinSecurityBits) {
        return make_error(Errc::kInvalidArgument,
                          std::string("key too weak: ") + EVP_PKEY_get0_type_name(key.get()) + " " +
                              std::to_string(EVP_PKEY_get_bits(key.get())) +
                              " bits; security level 2 needs 112-bit security (RSA >= 2048)");
    }
    MOAT_TRY(check_signature_strength(leaf.get(), "certificate"));
    for (int i = 0; i < sk_X509_num(chain.get()); ++i) {
        MOAT_TRY(check_signature_strength(sk_X509_value(chain.get(), i), "chain certificate"));
    }
    return std::shared_ptr<const CertKey>(
        std::make_shared<CertKey>(leaf.release(), chain.release(), key.release()));
}

Result<std::shared_ptr<const CertKey>> load_cert_key_files(const std::string& cert_pem_path,
                                                           const std::string& key_pem_path) {
    auto cert = internal::read_file(cert_pem_path);
    if (!cert) return make_error(cert.error().code, "certificate file " + cert.error().detail);
    auto key = internal::read_file(key_pem_path);
    if (!key) return make_error(key.error().code, "key file " + key.error().detail);
    auto loaded = load_cert_key_pem(*cert, *key);
    OPENSSL_cleanse(key->data(), key->size());
    if (!loaded) {
        return make_error(loaded.error().code,
                          cert_pem_path + " + " + key_pem_path + ": " + loaded.error().detail);
    }
    return loaded;
}

}  // namespace moat::tls

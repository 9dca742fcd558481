#include "acme/x509_tools.h"

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace moat::acme {
namespace {

struct ReqFree {
    void operator()(X509_REQ* r) const { X509_REQ_free(r); }
};
struct ExtFree {
    void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
struct ExtsFree {
    void operator()(STACK_OF(X509_EXTENSION) * s) const {
        sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
    }
};
struct OctFree {
    void operator()(ASN1_OCTET_STRING* o) const { ASN1_OCTET_STRING_free(o); }
};
struct ObjFree {
    void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); }
};
struct AkidFree {
    void operator()(AUTHORITY_KEYID* a) const { AUTHORITY_KEYID_free(a); }
};

bool plain_dns_name(std::string_view n) {
    if (n.empty() || n.size() > 253) return false;
    for (char c : n) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '*';
        if (!ok) return false;
    }
    return true;
}

Result<std::string> san_value(const std::vector<std::string>& names) {
    std::string san;
    for (const auto& n : names) {
        // The names go into an OpenSSL config-style string: refuse anything that could break
        // out of "DNS:<name>," before it gets there.
        if (!plain_dns_name(n)) return make_error(Errc::kInvalidArgument, "bad DNS name " + n);
        if (!san.empty()) san += ",";
        san += "DNS:" + n;
    }
    return san;
}

}  // namespace

Result<std::string> make_csr(EVP_PKEY* key, const std::vector<std::string>& names) {
    if (names.empty()) return make_error(Errc::kInvalidArgument, "CSR without names");
    auto san = san_value(names);
    if (!san) return san.error();
    std::unique_ptr<X509_REQ, ReqFree> req(X509_REQ_new());
    X509_NAME* subj = X509_REQ_get_subject_name(req.get());
    if (names[0].size() <= 64) {  // ub-common-name; longer names live in the SAN only
        X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(names[0].c_str()), -1, -1,
                                   0);
    }
    std::unique_ptr<STACK_OF(X509_EXTENSION), ExtsFree> exts(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san->c_str());
    if (ext == nullptr || sk_X509_EXTENSION_push(exts.get(), ext) == 0) {
        if (ext) X509_EXTENSION_free(ext);
        return internal::ossl_error(Errc::kInternal, "CSR subjectAltName");
    }
    if (X509_REQ_set_version(req.get(), 0) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1 ||
        X509_REQ_add_extensions(req.get(), exts.get()) != 1 ||
        X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0)
        return internal::ossl_error(Errc::kInternal, "building the CSR failed");
    int len = i2d_X509_REQ(req.get(), nullptr);
    if (len <= 0) return internal::ossl_error(Errc::kInternal, "encoding the CSR failed");
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509_REQ(req.get(), &p);
    return der;
}

Result<std::shared_ptr<const tls::CertKey>> make_alpn_challenge_cert(std::string_view name,
                                                                     std::string_view key_authz) {
    auto san = san_value({std::string(name)});
    if (!san) return san.error();
    auto key = internal::generate_p256();
    if (!key) return key.error();
    internal::X509Ptr x(X509_new());
    X509_set_version(x.get(), 2);
    unsigned char serial[16];
    std::string rnd = internal::sha256(std::string(name) + std::string(key_authz));
    std::memcpy(serial, rnd.data(), sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
    X509_NAME* n = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("acme tls-alpn-01"), -1, -1,
                               0);
    X509_set_issuer_name(x.get(), n);
    X509_set_pubkey(x.get(), key->get());

    X509_EXTENSION* se = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san->c_str());
    if (se == nullptr) return internal::ossl_error(Errc::kInternal, "challenge SAN");
    std::unique_ptr<X509_EXTENSION, ExtFree> san_ext(se);
    X509_add_ext(x.get(), san_ext.get(), -1);

    // extnValue = DER of OCTET STRING (SHA-256(keyAuthorization)) (RFC 8737 §3).
    std::string digest = internal::sha256(key_authz);
    std::string inner = std::string("\x04\x20", 2) + digest;
    std::unique_ptr<ASN1_OBJECT, ObjFree> oid(OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1));
    std::unique_ptr<ASN1_OCTET_STRING, OctFree> os(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(os.get(), reinterpret_cast<const unsigned char*>(inner.data()),
                          static_cast<int>(inner.size()));
    std::unique_ptr<X509_EXTENSION, ExtFree> acme_ext(
        X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), /*crit=*/1, os.get()));
    if (!acme_ext || X509_add_ext(x.get(), acme_ext.get(), -1) != 1)
        return internal::ossl_error(Errc::kInternal, "acmeIdentifier extension");
    if (X509_sign(x.get(), key->get(), EVP_sha256()) <= 0)
        return internal::ossl_error(Errc::kInternal, "signing the challenge certificate");
    return std::shared_ptr<const tls::CertKey>(
        std::make_shared<tls::CertKey>(x.release(), nullptr, key->release()));
}

Result<std::string> ari_cert_id(X509* cert) {
    int crit = 0;
    std::unique_ptr<AUTHORITY_KEYID, AkidFree> akid(static_cast<AUTHORITY_KEYID*>(
        X509_get_ext_d2i(cert, NID_authority_key_identifier, &crit, nullptr)));
    if (!akid || akid->keyid == nullptr)
        return make_error(Errc::kInvalidArgument, "certificate has no authority key identifier");
    std::string kid(reinterpret_cast<const char*>(ASN1_STRING_get0_data(akid->keyid)),
                    static_cast<std::size_t>(ASN1_STRING_length(akid->keyid)));
    // The serial's DER content octets: two's complement, so a leading zero stays when the
    // high bit is set (RFC 9773 §4.1 example).
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    int len = i2d_ASN1_INTEGER(serial, nullptr);
    if (len <= 2) return make_error(Errc::kInvalidArgument, "certificate serial unreadable");
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_ASN1_INTEGER(serial, &p);
    // Skip tag and length (short or long form).
    std::size_t off = 2;
    auto l0 = static_cast<unsigned char>(der[1]);
    if (l0 & 0x80) off += l0 & 0x7f;
    if (off >= der.size())
        return make_error(Errc::kInvalidArgument, "certificate serial unreadable");
    return internal::b64url(kid) + "." + internal::b64url(der.substr(off));
}

CertFacts cert_facts(const tls::CertKey& ck) {
    CertFacts f;
    f.names = ck.names();
    f.not_before = ck.not_before();
    f.not_after = ck.not_after();
    X509_NAME* iss = X509_get_issuer_name(ck.leaf());
    char buf[256] = {0};
    if (X509_NAME_get_text_by_NID(iss, NID_commonName, buf, sizeof buf) > 0) {
        f.issuer = buf;
    } else {
        char* line = X509_NAME_oneline(iss, nullptr, 0);
        if (line) {
            f.issuer = line;
            OPENSSL_free(line);
        }
    }
    return f;
}

}  // namespace moat::acme

#include "tls/internal_ca.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "tls/init.h"
#include "tls/internal/names.h"
#include "tls/internal/ossl.h"

namespace moat::tls {
namespace {

using internal::ossl_error;
using internal::PkeyPtr;
using internal::X509Ptr;
using Clock = InternalCa::Clock;
using TimePoint = std::chrono::system_clock::time_point;

constexpr char kRootCert[] = "/root.crt";
constexpr char kRootKey[] = "/root.key";
constexpr char kLeaves[] = "/leaves";
// Clients with a slightly slow clock would reject a certificate valid from "now".
constexpr long kBackdateSeconds = 3600;

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

Result<void> make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return {};
    return make_error(Errc::kIo, "mkdir " + path + ": " + std::strerror(errno));
}

Result<PkeyPtr> new_p256_key() {
    PkeyPtr key(EVP_EC_gen("P-256"));
    if (!key) return ossl_error(Errc::kInternal, "generating a P-256 key");
    return key;
}

// RSA-2048 leaves are for clients that cannot verify ECDSA (tls.md: the optional companion).
Result<PkeyPtr> new_leaf_key(InternalCa::LeafKey type) {
    if (type == InternalCa::LeafKey::kEcdsaP256) return new_p256_key();
    PkeyPtr key(EVP_RSA_gen(2048));
    if (!key) return ossl_error(Errc::kInternal, "generating an RSA-2048 key");
    return key;
}

// RFC 5280 §4.1.2.2: a positive serial of at most 20 octets, unpredictable (CA/B BR §7.1).
Result<void> set_random_serial(X509* x) {
    unsigned char buf[16];
    if (RAND_bytes(buf, sizeof buf) != 1) return ossl_error(Errc::kInternal, "RAND_bytes");
    buf[0] = static_cast<unsigned char>((buf[0] & 0x7f) | 0x01);  // positive, never zero
    BIGNUM* bn = BN_bin2bn(buf, sizeof buf, nullptr);
    bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
    BN_free(bn);
    if (!ok) return ossl_error(Errc::kInternal, "setting serial number");
    return {};
}

Result<void> set_validity(X509* x, TimePoint now, std::chrono::hours lifetime) {
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    long life = static_cast<long>(std::chrono::seconds(lifetime).count());
    if (X509_time_adj_ex(X509_getm_notBefore(x), 0, -kBackdateSeconds, &t) == nullptr ||
        X509_time_adj_ex(X509_getm_notAfter(x), static_cast<int>(life / 86400), life % 86400, &t) ==
            nullptr)
        return ossl_error(Errc::kInternal, "setting validity");
    return {};
}

Result<void> add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    bool ok = ext != nullptr && X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!ok) return ossl_error(Errc::kInternal, std::string("adding ") + OBJ_nid2sn(nid));
    return {};
}

Result<void> set_cn(X509_NAME* name, const std::string& cn) {
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                   0) != 1)
        return ossl_error(Errc::kInternal, "setting subject");
    return {};
}

Result<std::shared_ptr<const CertKey>> create_root(const std::string& dir, TimePoint now) {
    auto key = new_p256_key();
    if (!key) return key.error();
    X509Ptr x(X509_new());
    if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1)
        return ossl_error(Errc::kInternal, "X509_new");
    MOAT_TRY(set_random_serial(x.get()));
    MOAT_TRY(set_validity(x.get(), now, InternalCa::kRootLifetime));
    // A random suffix tells apart the CAs of different installations in a client's trust store.
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return ossl_error(Errc::kInternal, "RAND_bytes");
    MOAT_TRY(set_cn(X509_get_subject_name(x.get()),
                    "moat internal CA " + internal::hex(rnd, sizeof rnd)));
    if (X509_set_issuer_name(x.get(), X509_get_subject_name(x.get())) != 1 ||
        X509_set_pubkey(x.get(), key->get()) != 1)
        return ossl_error(Errc::kInternal, "setting root names");
    // pathlen:0: the root may sign leaves only, never a sub-CA.
    MOAT_TRY(add_ext(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    MOAT_TRY(add_ext(x.get(), x.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
    MOAT_TRY(add_ext(x.get(), x.get(), NID_subject_key_identifier, "hash"));
    if (X509_sign(x.get(), key->get(), EVP_sha256()) == 0)
        return ossl_error(Errc::kInternal, "signing the root");

    auto kpem = internal::key_pem(key->get());
    if (!kpem) return kpem.error();
    auto cpem = internal::cert_pem(x.get());
    if (!cpem) return cpem.error();
    auto wrote = internal::write_file_atomic(dir + kRootKey, *kpem, 0600);
    OPENSSL_cleanse(kpem->data(), kpem->size());
    MOAT_TRY(wrote);
    MOAT_TRY(internal::write_file_atomic(dir + kRootCert, *cpem, 0644));
    return std::shared_ptr<const CertKey>(
        std::make_shared<CertKey>(x.release(), nullptr, key->release()));
}

// Canonical, sorted, de-duplicated names; the cache key and the SAN list.
Result<std::vector<std::string>> canonical_names(const std::vector<std::string>& names) {
    if (names.empty()) return make_error(Errc::kInvalidArgument, "no names to certify");
    std::vector<std::string> out;
    for (const std::string& n : names) {
        auto c = internal::canonical_name(n);
        if (!c) return make_error(Errc::kInvalidArgument, "not a host name or IP literal: " + n);
        out.push_back(std::move(*c));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string cache_id(const std::vector<std::string>& names) {
    std::string joined;
    for (const std::string& n : names) joined += n + "\n";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), md);
    return internal::hex(md, 16);
}

}  // namespace

Result<InternalCa> InternalCa::open_or_create(const std::string& dir, Clock clock) {
    init_openssl();
    if (!clock) clock = [] { return std::chrono::system_clock::now(); };
    if (dir.empty()) return make_error(Errc::kInvalidArgument, "internal CA directory is empty");
    MOAT_TRY(make_dir(dir));
    MOAT_TRY(make_dir(dir + kLeaves));
    std::string cert_path = dir + kRootCert;
    std::string key_path = dir + kRootKey;
    bool have_cert = exists(cert_path);
    bool have_key = exists(key_path);
    if (!have_cert && !have_key) {
        auto root = create_root(dir, clock());
        if (!root) return root.error();
        return InternalCa(dir, std::move(*root), std::move(clock));
    }
    if (have_cert != have_key) {
        return make_error(Errc::kConflict, dir +
                                               ": only one of root.crt and root.key exists; "
                                               "refusing to replace a CA clients may trust");
    }
    struct stat st;
    if (::stat(key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
        return make_error(Errc::kDenied,
                          key_path + " is accessible by group or others (chmod 600)");
    auto root = load_cert_key_files(cert_path, key_path);
    if (!root) return root.error();
    if (X509_check_ca((*root)->leaf()) < 1)
        return make_error(Errc::kInvalidArgument, cert_path + " is not a CA certificate");
    return InternalCa(dir, std::move(*root), std::move(clock));
}

std::string InternalCa::root_cert_path() const { return dir_ + kRootCert; }

Result<std::shared_ptr<const CertKey>> InternalCa::cached_leaf(
    const std::string& base, const std::vector<std::string>& names, LeafKey key) {
    auto leaf = load_cert_key_files(base + ".crt", base + ".key");
    if (!leaf) return leaf.error();
    const CertKey& ck = **leaf;
    if ((EVP_PKEY_get_base_id(ck.key()) == EVP_PKEY_RSA) != (key == LeafKey::kRsa2048))
        return make_error(Errc::kConflict, "cached leaf has another key type");
    if (X509_verify(ck.leaf(), root_->key()) != 1) {  // issued by an earlier CA in this dir
        ERR_clear_error();
        return make_error(Errc::kConflict, "cached leaf was not issued by this root");
    }
    std::vector<std::string> have = ck.names();
    std::sort(have.begin(), have.end());
    if (have != names) return make_error(Errc::kConflict, "cached leaf names differ");
    // Renew with a third of the lifetime left, as the ACME renewal policy does (certmagic).
    auto now = clock_();
    auto lifetime = ck.not_after() - ck.not_before();
    if (now < ck.not_before() || ck.not_after() - now <= lifetime / 3)
        return make_error(Errc::kConflict, "cached leaf is due for renewal");
    return leaf;
}

Result<std::shared_ptr<const CertKey>> InternalCa::issue(const std::vector<std::string>& names,
                                                         LeafKey type) {
    auto canon = canonical_names(names);
    if (!canon) return canon.error();
    std::string base =
        dir_ + kLeaves + "/" + cache_id(*canon) + (type == LeafKey::kRsa2048 ? "-rsa" : "");
    if (auto cached = cached_leaf(base, *canon, type)) return cached;

    auto key = new_leaf_key(type);
    if (!key) return key.error();
    X509* root = root_->leaf();
    X509Ptr x(X509_new());
    if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1)
        return ossl_error(Errc::kInternal, "X509_new");
    MOAT_TRY(set_random_serial(x.get()));
    MOAT_TRY(set_validity(x.get(), clock_(), kLeafLifetime));
    // RFC 5280 §4.1.2.6: the CN (64 octets max) is informational; names live in the SAN, which
    // must be critical when the subject is empty (§4.2.1.6).
    const std::string& first = (*canon)[0];
    bool with_cn = first.size() <= 64;
    if (with_cn) MOAT_TRY(set_cn(X509_get_subject_name(x.get()), first));
    if (X509_set_issuer_name(x.get(), X509_get_subject_name(root)) != 1 ||
        X509_set_pubkey(x.get(), key->get()) != 1)
        return ossl_error(Errc::kInternal, "setting leaf names");
    std::string san = with_cn ? "" : "critical,";
    for (std::size_t i = 0; i < canon->size(); ++i) {
        const std::string& n = (*canon)[i];
        // Names are validated LDH or canonical IPs, so they cannot inject ',' into this list.
        san += (i == 0 ? "" : ",") + std::string(internal::canonical_ip(n) ? "IP:" : "DNS:") + n;
    }
    MOAT_TRY(add_ext(x.get(), root, NID_basic_constraints, "critical,CA:FALSE"));
    MOAT_TRY(add_ext(x.get(), root, NID_key_usage, "critical,digitalSignature"));
    MOAT_TRY(add_ext(x.get(), root, NID_ext_key_usage, "serverAuth"));
    MOAT_TRY(add_ext(x.get(), root, NID_subject_alt_name, san));
    MOAT_TRY(add_ext(x.get(), root, NID_subject_key_identifier, "hash"));
    MOAT_TRY(add_ext(x.get(), root, NID_authority_key_identifier, "keyid:always"));
    if (X509_sign(x.get(), root_->key(), EVP_sha256()) == 0)
        return ossl_error(Errc::kInternal, "signing the leaf");

    auto kpem = internal::key_pem(key->get());
    if (!kpem) return kpem.error();
    auto cpem = internal::cert_pem(x.get());
    if (!cpem) return cpem.error();
    // Key first: a new .crt next to an old .key would fail the match check and be reissued.
    auto wrote = internal::write_file_atomic(base + ".key", *kpem, 0600);
    OPENSSL_cleanse(kpem->data(), kpem->size());
    MOAT_TRY(wrote);
    MOAT_TRY(internal::write_file_atomic(base + ".crt", *cpem, 0644));
    return std::shared_ptr<const CertKey>(
        std::make_shared<CertKey>(x.release(), nullptr, key->release()));
}

}  // namespace moat::tls

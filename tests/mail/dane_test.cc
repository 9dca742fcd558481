// The DANE helpers of `moat check mail`: where the TLSA records of an aliased MX host are looked
// up (RFC 7671 §7, RFC 7672 §2.2.2) with a scripted resolver, and chain matching (RFC 7672 §3)
// with throwaway certificates.
#include "mail/dane.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <map>

namespace moat::mail {
namespace {

DnsAnswer answer(DnsAnswer::Status st, bool secure = true, std::string canonical = "") {
    DnsAnswer a;
    a.status = st;
    a.secure = secure;
    a.canonical = std::move(canonical);
    if (st == DnsAnswer::Status::kOk) a.rdata.push_back(std::string("\3\1\1", 3) + "digest");
    return a;
}
DnsAnswer found() { return answer(DnsAnswer::Status::kOk); }
DnsAnswer nodata() { return answer(DnsAnswer::Status::kNoData); }

// A resolver that knows some TLSA owners (everything else: NXDOMAIN) and records what was asked.
struct ScriptedTlsa {
    std::map<std::string, DnsAnswer> zone;
    std::vector<std::string> asked;
    TlsaLookup lookup() {
        return [this](const std::string& owner) {
            asked.push_back(owner);
            auto it = zone.find(owner);
            return it == zone.end() ? answer(DnsAnswer::Status::kNxDomain) : it->second;
        };
    }
};

TEST(TlsaBase, PlainHostIsItsOwnBase) {
    ScriptedTlsa dns;
    dns.zone["_25._tcp.mx.example"] = found();
    auto b = find_tlsa_base("MX.Example.", answer(DnsAnswer::Status::kOk, true, "mx.example"),
                            dns.lookup());
    EXPECT_FALSE(b.alias);
    EXPECT_EQ(b.owner(), "_25._tcp.mx.example");
    EXPECT_TRUE(b.tlsa.ok());
    EXPECT_EQ(b.reference_ids, std::vector<std::string>{"mx.example"});
    EXPECT_EQ(dns.asked, std::vector<std::string>{"_25._tcp.mx.example"});
}

TEST(TlsaBase, SecureAliasUsesTheTargetFirst) {
    ScriptedTlsa dns;
    dns.zone["_25._tcp.host.provider.example"] = found();
    dns.zone["_25._tcp.mx.example"] = found();
    auto b = find_tlsa_base(
        "mx.example", answer(DnsAnswer::Status::kOk, true, "host.provider.example."), dns.lookup());
    EXPECT_TRUE(b.alias);
    EXPECT_TRUE(b.secure_alias);
    EXPECT_TRUE(b.at_target());
    EXPECT_EQ(b.base, "host.provider.example");
    EXPECT_EQ(b.reference_ids, (std::vector<std::string>{"host.provider.example", "mx.example"}));
    EXPECT_EQ(dns.asked, std::vector<std::string>{"_25._tcp.host.provider.example"});
}

TEST(TlsaBase, SecureAliasFallsBackToTheOriginalName) {
    ScriptedTlsa dns;
    dns.zone["_25._tcp.host.provider.example"] = nodata();
    dns.zone["_25._tcp.mx.example"] = found();
    auto b = find_tlsa_base(
        "mx.example", answer(DnsAnswer::Status::kOk, true, "host.provider.example"), dns.lookup());
    EXPECT_FALSE(b.at_target());
    EXPECT_EQ(b.base, "mx.example");
    EXPECT_TRUE(b.tlsa.ok());
    // Both names stay reference identifiers behind a secure alias.
    EXPECT_EQ(b.reference_ids, (std::vector<std::string>{"host.provider.example", "mx.example"}));
    EXPECT_EQ(dns.asked,
              (std::vector<std::string>{"_25._tcp.host.provider.example", "_25._tcp.mx.example"}));
}

TEST(TlsaBase, InsecureAliasNeverLendsItsTarget) {
    ScriptedTlsa dns;
    dns.zone["_25._tcp.host.provider.example"] = found();  // must not be used
    auto b = find_tlsa_base(
        "mx.example", answer(DnsAnswer::Status::kOk, false, "host.provider.example"), dns.lookup());
    EXPECT_TRUE(b.alias);
    EXPECT_FALSE(b.secure_alias);
    EXPECT_EQ(b.base, "mx.example");
    EXPECT_TRUE(b.tlsa.absent());
    EXPECT_EQ(b.reference_ids, std::vector<std::string>{"mx.example"});
    EXPECT_EQ(dns.asked, std::vector<std::string>{"_25._tcp.mx.example"});
}

TEST(TlsaBase, FailedLookupAtTheTargetStopsTheSearch) {
    ScriptedTlsa dns;
    dns.zone["_25._tcp.host.provider.example"] = answer(DnsAnswer::Status::kServFail);
    dns.zone["_25._tcp.mx.example"] = found();
    auto b = find_tlsa_base(
        "mx.example", answer(DnsAnswer::Status::kOk, true, "host.provider.example"), dns.lookup());
    EXPECT_EQ(b.base, "host.provider.example");
    EXPECT_EQ(b.tlsa.status, DnsAnswer::Status::kServFail);
    EXPECT_EQ(dns.asked.size(), 1u);
}

// ---- matching ----

struct Key {
    EVP_PKEY* k = nullptr;
    Key() {
        EVP_PKEY_CTX* c = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
        EVP_PKEY_keygen_init(c);
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, NID_X9_62_prime256v1);
        EVP_PKEY_keygen(c, &k);
        EVP_PKEY_CTX_free(c);
    }
    ~Key() { EVP_PKEY_free(k); }
};

// DER of a certificate for `key` naming `san` ("DNS:a,DNS:b"), signed by `signer`.
std::string cert(const Key& key, const std::string& san, const Key& signer) {
    X509* x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("t"), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key.k);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, signer.k, EVP_sha256());
    unsigned char* der = nullptr;
    int n = i2d_X509(x, &der);
    std::string out(reinterpret_cast<char*>(der), n);
    OPENSSL_free(der);
    X509_free(x);
    return out;
}

std::string sha256(const std::string& d) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(d.data(), d.size(), md, &n, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), n);
}

std::string spki(const Key& key) {
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key.k, &der);
    std::string out(reinterpret_cast<char*>(der), n);
    OPENSSL_free(der);
    return out;
}

class TlsaMatchTest : public ::testing::Test {
protected:
    Key ca_key, leaf_key, other_key;
    std::string ca = cert(ca_key, "DNS:ca.invalid", ca_key);
    std::string leaf = cert(leaf_key, "DNS:host.provider.example", ca_key);
    std::vector<std::string> chain{leaf, ca};
};

TEST_F(TlsaMatchTest, DaneEeMatchesTheLeafKeyWhateverItsNames) {
    auto m = match_tlsa({{3, 1, 1, sha256(spki(leaf_key))}}, chain, {"unrelated.example"});
    EXPECT_TRUE(m.matched);
    EXPECT_EQ(m.usage, 3);
    // An EE record of another key, or one that names the CA, does not match.
    EXPECT_FALSE(match_tlsa({{3, 1, 1, sha256(spki(other_key))}}, chain, {}).matched);
    EXPECT_FALSE(match_tlsa({{3, 0, 1, sha256(ca)}}, chain, {}).matched);
}

TEST_F(TlsaMatchTest, DaneTaNeedsALeafNamingAReferenceIdentifier) {
    std::vector<TlsaRecord> ta{{2, 0, 1, sha256(ca)}};
    auto target = match_tlsa(ta, chain, {"host.provider.example", "mx.example"});
    EXPECT_TRUE(target.matched);
    EXPECT_EQ(target.usage, 2);
    auto wrong = match_tlsa(ta, chain, {"mx.example"});
    EXPECT_FALSE(wrong.matched);
    EXPECT_TRUE(wrong.ta_name_mismatch);
    // The full certificate (matching type 0) and SHA-512 of the key match as well.
    EXPECT_TRUE(match_tlsa({{2, 0, 0, ca}}, chain, {"host.provider.example"}).matched);
    unsigned char md[64];
    unsigned int n = 0;
    std::string key = spki(ca_key);
    EVP_Digest(key.data(), key.size(), md, &n, EVP_sha512(), nullptr);
    EXPECT_TRUE(match_tlsa({{2, 1, 2, std::string(reinterpret_cast<char*>(md), n)}}, chain,
                           {"host.provider.example"})
                    .matched);
}

TEST_F(TlsaMatchTest, TaRecordNeverMatchesTheLeafItself) {
    // A "2 0 1" record of the leaf: DANE-TA must be above the leaf.
    EXPECT_FALSE(match_tlsa({{2, 0, 1, sha256(leaf)}}, chain, {"host.provider.example"}).matched);
    EXPECT_FALSE(match_tlsa({{2, 0, 1, sha256(ca)}}, {leaf}, {"host.provider.example"}).matched);
}

TEST_F(TlsaMatchTest, PkixUsagesAndUnknownParametersAreIgnored) {
    EXPECT_FALSE(match_tlsa({{1, 1, 1, sha256(spki(leaf_key))}}, chain, {}).matched);
    EXPECT_FALSE(match_tlsa({{3, 2, 1, sha256(spki(leaf_key))}}, chain, {}).matched);
    EXPECT_FALSE(match_tlsa({{3, 1, 1, sha256(spki(leaf_key))}}, {}, {}).matched);
}

}  // namespace
}  // namespace moat::mail

#include "tls/internal_ca.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>

#include "tls_test_util.h"

namespace moat::tls {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
}

std::size_t count_files(const std::string& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

// Verifies `leaf` against `root` for TLS server use, as a client would.
int verify(X509* root, X509* leaf, const char* host) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, root);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, nullptr);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
    int ok = X509_verify_cert(ctx);
    int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return err;
}

TEST(InternalCa, CreatesPrivateFilesAndReloadsTheSameRoot) {
    TempDir tmp;
    std::string dir = tmp.file("ca");
    auto ca = InternalCa::open_or_create(dir);
    ASSERT_TRUE(ca) << ca.error().detail;
    EXPECT_EQ(mode_of(dir), 0700u);
    EXPECT_EQ(mode_of(dir + "/root.key"), 0600u);
    EXPECT_EQ(ca->root_cert_path(), dir + "/root.crt");
    EXPECT_TRUE(std::filesystem::exists(ca->root_cert_path()));

    X509* root = ca->root()->leaf();
    EXPECT_EQ(X509_check_ca(root), 1);
    char cn[128] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(root), NID_commonName, cn, sizeof cn);
    EXPECT_EQ(std::string(cn).rfind("moat internal CA ", 0), 0u) << cn;
    EXPECT_GT(ca->root()->not_after() - ca->root()->not_before(), 24h * 365 * 9);

    auto again = InternalCa::open_or_create(dir);
    ASSERT_TRUE(again) << again.error().detail;
    EXPECT_EQ(X509_cmp(again->root()->leaf(), root), 0);
    EXPECT_EQ(EVP_PKEY_eq(again->root()->key(), ca->root()->key()), 1);
}

TEST(InternalCa, RefusesHalfACaAndAnExposedKey) {
    TempDir tmp;
    std::string dir = tmp.file("ca");
    ASSERT_TRUE(InternalCa::open_or_create(dir));
    ASSERT_EQ(::chmod((dir + "/root.key").c_str(), 0644), 0);
    auto exposed = InternalCa::open_or_create(dir);
    ASSERT_FALSE(exposed);
    EXPECT_EQ(exposed.error().code, Errc::kDenied);

    std::filesystem::remove(dir + "/root.crt");
    auto half = InternalCa::open_or_create(dir);
    ASSERT_FALSE(half);
    EXPECT_EQ(half.error().code, Errc::kConflict);
    EXPECT_TRUE(std::filesystem::exists(dir + "/root.key"));  // never replaced
}

TEST(InternalCa, IssuesServerLeavesTheRootVerifies) {
    TempDir tmp;
    auto ca = InternalCa::open_or_create(tmp.file("ca"));
    ASSERT_TRUE(ca);
    auto leaf = ca->issue({"www.test", "127.0.0.1", "::1"});
    ASSERT_TRUE(leaf) << leaf.error().detail;
    X509* x = (*leaf)->leaf();
    EXPECT_EQ(verify(ca->root()->leaf(), x, "www.test"), X509_V_OK);
    EXPECT_EQ(verify(ca->root()->leaf(), x, "other.test"), X509_V_ERR_HOSTNAME_MISMATCH);
    EXPECT_EQ(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    EXPECT_EQ(X509_check_ip_asc(x, "::1", 0), 1);
    EXPECT_EQ(X509_check_ca(x), 0);
    EXPECT_NE(X509_get_extended_key_usage(x) & XKU_SSL_SERVER, 0u);
    EXPECT_EQ(EVP_PKEY_get_id((*leaf)->key()), EVP_PKEY_EC);
    EXPECT_EQ(EVP_PKEY_get_bits((*leaf)->key()), 256);
    EXPECT_EQ(sk_X509_num((*leaf)->chain()), 0);  // leaf only
    auto life = (*leaf)->not_after() - (*leaf)->not_before();
    EXPECT_GT(life, 24h * 89);
    EXPECT_LT(life, 24h * 92);
}

TEST(InternalCa, IssuesAnRsa2048LeafBesideTheEcdsaOne) {
    TempDir tmp;
    auto ca = InternalCa::open_or_create(tmp.file("ca"));
    ASSERT_TRUE(ca);
    auto ec = ca->issue({"www.test"});
    auto rsa = ca->issue({"www.test"}, InternalCa::LeafKey::kRsa2048);
    ASSERT_TRUE(ec);
    ASSERT_TRUE(rsa) << rsa.error().detail;
    EXPECT_EQ(EVP_PKEY_get_id((*rsa)->key()), EVP_PKEY_RSA);
    EXPECT_EQ(EVP_PKEY_get_bits((*rsa)->key()), 2048);
    EXPECT_EQ(EVP_PKEY_get_id((*ec)->key()), EVP_PKEY_EC);
    EXPECT_EQ(verify(ca->root()->leaf(), (*rsa)->leaf(), "www.test"), X509_V_OK);
    // Cached apart from the ECDSA leaf: each key type is reused, neither replaces the other.
    EXPECT_EQ(count_files(tmp.file("ca/leaves")), 4u);
    auto rsa_again = ca->issue({"www.test"}, InternalCa::LeafKey::kRsa2048);
    auto ec_again = ca->issue({"www.test"});
    ASSERT_TRUE(rsa_again && ec_again);
    EXPECT_EQ(X509_cmp((*rsa_again)->leaf(), (*rsa)->leaf()), 0);
    EXPECT_EQ(X509_cmp((*ec_again)->leaf(), (*ec)->leaf()), 0);
    EXPECT_EQ(EVP_PKEY_get_id((*ec_again)->key()), EVP_PKEY_EC);
}

TEST(InternalCa, ReusesCachedLeafAndReissuesWhenNamesChange) {
    TempDir tmp;
    auto ca = InternalCa::open_or_create(tmp.file("ca"));
    ASSERT_TRUE(ca);
    auto first = ca->issue({"a.test", "b.test"});
    ASSERT_TRUE(first);
    EXPECT_EQ(count_files(tmp.file("ca/leaves")), 2u);
    for (const auto& entry : std::filesystem::directory_iterator(tmp.file("ca/leaves"))) {
        if (entry.path().extension() == ".key") {
            EXPECT_EQ(mode_of(entry.path()), 0600u);
        }
    }

    // Same names in another order and case: the cached leaf, even from a fresh process.
    auto reopened = InternalCa::open_or_create(tmp.file("ca"));
    ASSERT_TRUE(reopened);
    auto same = reopened->issue({"B.test", "a.test", "a.test"});
    ASSERT_TRUE(same);
    EXPECT_EQ(X509_cmp((*same)->leaf(), (*first)->leaf()), 0);

    auto other = reopened->issue({"a.test", "c.test"});
    ASSERT_TRUE(other);
    EXPECT_NE(X509_cmp((*other)->leaf(), (*first)->leaf()), 0);
    EXPECT_TRUE((*other)->covers("c.test"));
    EXPECT_FALSE((*other)->covers("b.test"));
}

TEST(InternalCa, ReissuesWhenLessThanAThirdOfTheLifetimeIsLeft) {
    TempDir tmp;
    auto now = std::chrono::system_clock::now();
    auto ca = InternalCa::open_or_create(tmp.file("ca"), [&] { return now; });
    ASSERT_TRUE(ca);
    auto first = ca->issue({"a.test"});
    ASSERT_TRUE(first);
    now += 24h * 50;  // 40 of 90 days left
    auto kept = ca->issue({"a.test"});
    ASSERT_TRUE(kept);
    EXPECT_EQ(X509_cmp((*kept)->leaf(), (*first)->leaf()), 0);
    now += 24h * 11;  // 29 days left: under a third
    auto renewed = ca->issue({"a.test"});
    ASSERT_TRUE(renewed);
    EXPECT_NE(X509_cmp((*renewed)->leaf(), (*first)->leaf()), 0);
    EXPECT_GT((*renewed)->not_after(), (*first)->not_after());
}

TEST(InternalCa, ReissuesLeavesOfAReplacedRoot) {
    TempDir tmp;
    std::string dir = tmp.file("ca");
    auto ca = InternalCa::open_or_create(dir);
    ASSERT_TRUE(ca);
    auto first = ca->issue({"a.test"});
    ASSERT_TRUE(first);
    std::filesystem::remove(dir + "/root.crt");
    std::filesystem::remove(dir + "/root.key");
    auto fresh = InternalCa::open_or_create(dir);
    ASSERT_TRUE(fresh);
    auto leaf = fresh->issue({"a.test"});
    ASSERT_TRUE(leaf);
    EXPECT_NE(X509_cmp((*leaf)->leaf(), (*first)->leaf()), 0);
    EXPECT_EQ(verify(fresh->root()->leaf(), (*leaf)->leaf(), "a.test"), X509_V_OK);
}

TEST(InternalCa, RejectsBadNames) {
    TempDir tmp;
    auto ca = InternalCa::open_or_create(tmp.file("ca"));
    ASSERT_TRUE(ca);
    EXPECT_FALSE(ca->issue({}));
    auto bad = ca->issue({"a.test", "evil.test,DNS:bank.example"});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace moat::tls

// Manager scheduling with a fake clock and transport: a stored certificate is reused (no order
// at restart), a due one is ordered, a failing CA is backed off and remembered in status.json.
#include "acme/manager.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <filesystem>

#include "acme/internal/crypto.h"
#include "tls/internal_ca.h"

namespace moat::acme {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class ManagerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/moat-acme-mgr.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        settings_.directory_url = "https://ca.test/dir";
        settings_.state_dir = dir_ + "/acme";
        settings_.challenge = ChallengeType::kHttp01;
        cert_.name = "site.test";
        cert_.names = {"site.test", "test.site.test"};
        cert_.cert_file = dir_ + "/acme/certs/site.test/fullchain.pem";
        cert_.key_file = dir_ + "/acme/certs/site.test/privkey.pem";
        opts_.clock = [this] { return now_; };
        opts_.random = [] { return 0.5; };
        opts_.transport = [this](const edge::ClientRequest& r) -> Result<edge::ClientResponse> {
            requests_.push_back(r.method + " " + r.url);
            return make_error(Errc::kUnavailable, r.url + ": Connection refused");
        };
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // Stores a certificate for cert_.names issued by a private CA (90-day lifetime).
    void store_cert() {
        auto ca = tls::InternalCa::open_or_create(dir_ + "/ca");
        ASSERT_TRUE(ca);
        auto leaf = ca->issue(cert_.names);
        ASSERT_TRUE(leaf);
        ASSERT_TRUE(internal::make_dirs(dir_ + "/acme/certs/site.test", 0700));
        BIO* b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, (*leaf)->leaf());
        char* p = nullptr;
        long n = BIO_get_mem_data(b, &p);
        std::string pem(p, static_cast<std::size_t>(n));
        BIO_free(b);
        ASSERT_TRUE(internal::write_file_atomic(cert_.cert_file, pem, 0644));
        auto key = internal::private_key_pem((*leaf)->key());
        ASSERT_TRUE(internal::write_file_atomic(cert_.key_file, *key, 0600));
        not_after_ = (*leaf)->not_after();
    }

    std::unique_ptr<Manager> make() {
        auto m = Manager::create(
            settings_, {cert_}, std::make_shared<ChallengeBoard>(), [this] { ++changes_; }, opts_);
        EXPECT_TRUE(m) << m.error().detail;
        return m ? std::move(*m) : nullptr;
    }

    std::string dir_;
    AcmeSettings settings_;
    ManagedCert cert_;
    ManagerOptions opts_;
    std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
    std::chrono::system_clock::time_point not_after_;
    std::vector<std::string> requests_;
    int changes_ = 0;
};

TEST_F(ManagerTest, StoredCertificateIsReusedWithoutAnOrder) {
    store_cert();
    auto m = make();
    auto next = m->run_due();
    // Only the directory is read (to learn whether the CA offers ARI); nothing is ordered.
    for (const auto& r : requests_) EXPECT_EQ(r, "GET https://ca.test/dir");
    EXPECT_EQ(m->failed_orders(), 0u);
    auto st = m->status();
    ASSERT_EQ(st.size(), 1u);
    EXPECT_TRUE(st[0].has_cert);
    EXPECT_EQ(st[0].state(now_), "valid");
    // Renewal at a third of the (90-day) lifetime left, checked again within the hour.
    EXPECT_NEAR(std::chrono::duration<double>(not_after_ - st[0].renew_at).count() / 86400, 30,
                0.1);
    EXPECT_LE(next, now_ + hours(1));
    EXPECT_EQ(changes_, 0);
}

TEST_F(ManagerTest, DueCertificateIsOrderedAndFailureBacksOff) {
    store_cert();
    now_ = not_after_ - hours(24 * 20);  // under a third left
    auto m = make();
    m->run_due();
    ASSERT_FALSE(requests_.empty());
    EXPECT_EQ(requests_[0], "GET https://ca.test/dir");
    auto st = m->status();
    EXPECT_EQ(st[0].failures, 1);
    EXPECT_NE(st[0].last_error.find("Connection refused"), std::string::npos);
    EXPECT_EQ(st[0].state(now_), "failing");
    EXPECT_EQ(st[0].next_attempt, now_ + seconds(60));
    // Before the backoff ends nothing is sent; after it, the next attempt backs off longer.
    requests_.clear();
    now_ += seconds(30);
    m->run_due();
    EXPECT_TRUE(requests_.empty());
    EXPECT_EQ(m->failed_orders(), 1u);
    now_ += seconds(31);
    m->run_due();
    EXPECT_FALSE(requests_.empty());
    EXPECT_EQ(m->status()[0].failures, 2);
    EXPECT_EQ(m->failed_orders(), 2u);
    // The failure count survives a restart (status.json), so a crash loop cannot hammer the CA.
    auto text = internal::read_file(dir_ + "/acme/certs/site.test/status.json");
    ASSERT_TRUE(text);
    auto saved = status_from_json(*text);
    ASSERT_TRUE(saved);
    EXPECT_EQ(saved->failures, 2);
    requests_.clear();
    auto again = make();
    again->run_due();
    for (const auto& r : requests_) EXPECT_EQ(r, "GET https://ca.test/dir");  // ARI probe only
    EXPECT_EQ(again->failed_orders(), 0u);
    EXPECT_EQ(again->status()[0].failures, 2);
}

// Two processes sharing one ACME state (here one folder) share the backoff: a failure one of
// them met defers the other's order too, and the next failure counts on from it, so the CA sees
// one process's retries, not one set per process.
TEST_F(ManagerTest, BackoffIsSharedByTheProcessesSharingTheState) {
    store_cert();
    now_ = not_after_ - hours(24 * 20);  // renewal due
    opts_.lock_owner = "node-a";
    auto a = make();
    opts_.lock_owner = "node-b";
    auto b = make();
    a->run_due();
    ASSERT_EQ(a->failed_orders(), 1u);
    const auto first_retry = a->status()[0].next_attempt;
    EXPECT_EQ(first_retry, now_ + seconds(60));

    // b has not failed itself, yet does not order before a's backoff ends, and says why.
    b->run_due();
    EXPECT_EQ(b->failed_orders(), 0u);
    auto sb = b->status()[0];
    EXPECT_EQ(sb.failures, 1);
    EXPECT_EQ(sb.next_attempt, first_retry);
    EXPECT_NE(sb.last_error.find("Connection refused"), std::string::npos);
    EXPECT_EQ(sb.state(now_), "failing");

    // After it, b orders, fails, and backs off from the shared count (2: twice as long).
    now_ = first_retry + seconds(1);
    b->run_due();
    EXPECT_EQ(b->failed_orders(), 1u);
    EXPECT_EQ(b->status()[0].failures, 2);
    const auto second_retry = b->status()[0].next_attempt;
    EXPECT_EQ(second_retry, now_ + seconds(120));
    // a's own backoff is over, but b's holds it back.
    a->run_due();
    EXPECT_EQ(a->failed_orders(), 1u);
    EXPECT_EQ(a->status()[0].failures, 2);
    EXPECT_EQ(a->status()[0].next_attempt, second_retry);
    auto text = internal::read_file(dir_ + "/acme/certs/site.test/backoff.json");
    ASSERT_TRUE(text);
    auto shared = backoff_from_json(*text);
    ASSERT_TRUE(shared);
    EXPECT_EQ(shared->failures, 2);
    EXPECT_EQ(shared->not_before, second_retry);
}

TEST_F(ManagerTest, MissingCertificateIsOrderedAtOnce) {
    auto m = make();
    m->run_due();
    ASSERT_FALSE(requests_.empty());
    EXPECT_EQ(m->status()[0].state(now_), "failing");
    EXPECT_FALSE(m->status()[0].has_cert);
}

// A self-signed RSA-2048 certificate for cert_.names at the RSA paths (or `key` instead).
void store_self_signed(const ManagedCert& c, internal::PkeyPtr key) {
    X509* x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 90 * 86400);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key.get());
    std::string san;
    for (const auto& n : c.names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, key.get(), EVP_sha256());
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string pem(p, static_cast<std::size_t>(n));
    BIO_free(b);
    X509_free(x);
    ASSERT_TRUE(internal::write_file_atomic(c.rsa_cert_file, pem, 0644));
    ASSERT_TRUE(
        internal::write_file_atomic(c.rsa_key_file, *internal::private_key_pem(key.get()), 0600));
}

TEST_F(ManagerTest, RsaExtraIsASecondCertificateWithItsOwnStatus) {
    cert_.rsa_cert_file = dir_ + "/acme/certs/site.test/fullchain-rsa.pem";
    cert_.rsa_key_file = dir_ + "/acme/certs/site.test/privkey-rsa.pem";
    store_cert();  // the ECDSA one is good; the RSA one is missing
    auto m = make();
    m->run_due();
    auto st = m->status();
    ASSERT_EQ(st.size(), 2u);
    const CertStatus& ec = st[0].rsa ? st[1] : st[0];
    const CertStatus& rsa = st[0].rsa ? st[0] : st[1];
    EXPECT_FALSE(ec.rsa);
    EXPECT_TRUE(rsa.rsa);
    EXPECT_EQ(rsa.name, "site.test");
    EXPECT_EQ(rsa.names, cert_.names);
    EXPECT_EQ(ec.state(now_), "valid");  // a failing RSA order leaves the ECDSA one alone
    EXPECT_EQ(ec.failures, 0);
    EXPECT_EQ(rsa.state(now_), "failing");
    EXPECT_EQ(rsa.failures, 1);
    EXPECT_EQ(m->failed_orders(), 1u);
    auto text = internal::read_file(dir_ + "/acme/certs/site.test/status-rsa.json");
    ASSERT_TRUE(text);
    auto saved = status_from_json(*text);
    ASSERT_TRUE(saved);
    EXPECT_TRUE(saved->rsa);
    EXPECT_EQ(saved->failures, 1);
    auto ec_text = internal::read_file(dir_ + "/acme/certs/site.test/status.json");
    ASSERT_TRUE(ec_text);
    EXPECT_FALSE(status_from_json(*ec_text)->rsa);
    EXPECT_EQ(status_from_json(*ec_text)->failures, 0);
}

TEST_F(ManagerTest, StoredRsaCertificateIsReusedAndMustHaveAnRsaKey) {
    cert_.rsa_cert_file = dir_ + "/acme/certs/site.test/fullchain-rsa.pem";
    cert_.rsa_key_file = dir_ + "/acme/certs/site.test/privkey-rsa.pem";
    store_cert();
    auto rsa_key = internal::generate_rsa(2048);
    ASSERT_TRUE(rsa_key);
    store_self_signed(cert_, std::move(*rsa_key));
    {
        auto m = make();
        m->run_due();
        for (const auto& r : requests_) EXPECT_EQ(r, "GET https://ca.test/dir");  // no order
        EXPECT_EQ(m->failed_orders(), 0u);
        for (const auto& st : m->status()) EXPECT_EQ(st.state(now_), "valid") << st.rsa;
    }
    // An ECDSA certificate where the RSA one belongs is not taken for it: ordered again.
    auto ec_key = internal::generate_p256();
    ASSERT_TRUE(ec_key);
    store_self_signed(cert_, std::move(*ec_key));
    auto m = make();
    m->run_due();
    EXPECT_EQ(m->failed_orders(), 1u);
    for (const auto& st : m->status()) EXPECT_EQ(st.failures, st.rsa ? 1 : 0);
}

TEST_F(ManagerTest, RefusesDns01WithoutSettings) {
    settings_.challenge = ChallengeType::kDns01;
    auto m = Manager::create(settings_, {cert_}, std::make_shared<ChallengeBoard>(), {}, opts_);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().detail.find("dns-01"), std::string::npos);
}

}  // namespace
}  // namespace moat::acme

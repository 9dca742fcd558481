// The ACME state in the object store (a real LocalStore in a temp folder): the StoreLease's
// create / compare-and-swap semantics, the account key and certificates as objects with their
// local copies, the import of a folder's state, and two Managers sharing one store.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <filesystem>

#include "acme/internal/crypto.h"
#include "acme/internal/store_io.h"
#include "acme/manager.h"
#include "acme/state_store.h"
#include "acme/store_lease.h"
#include "store/store.h"
#include "tls/cert_key.h"
#include "tls/internal_ca.h"

namespace moat::acme {
namespace {

using std::chrono::seconds;
constexpr char kBucket[] = "moat-acme";
const auto kT0 = std::chrono::system_clock::from_time_t(1'700'000'000);

class StoreStateTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/moat-acme-store.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        store::StoreSettings ss;
        ss.dir = dir_ + "/store";
        ss.default_buckets = false;
        auto st = store::Store::open(ss);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        auto made = store_->create_bucket(kBucket);
        ASSERT_TRUE(made) << made.error().detail;
    }
    void TearDown() override {
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    Result<std::unique_ptr<StoreLease>> take(const std::string& owner, Lease::TimePoint now) {
        return StoreLease::acquire(*store_, kBucket, "locks/order", owner, seconds(600), now);
    }
    std::string record() {
        auto o = internal::get_object(*store_, kBucket, "locks/order");
        return o ? o->data : "(" + o.error().detail + ")";
    }

    // A chain and key for `names` from a private CA.
    CertPems make_pems(const std::vector<std::string>& names) {
        auto ca = tls::InternalCa::open_or_create(dir_ + "/ca");
        EXPECT_TRUE(ca);
        auto leaf = ca->issue(names);
        EXPECT_TRUE(leaf);
        BIO* b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, (*leaf)->leaf());
        char* p = nullptr;
        long n = BIO_get_mem_data(b, &p);
        std::string pem(p, static_cast<std::size_t>(n));
        BIO_free(b);
        return CertPems{pem, *internal::private_key_pem((*leaf)->key())};
    }
    CertSlot slot(const std::string& data) {
        return CertSlot{"site.test", false, dir_ + "/" + data + "/certs/site.test/fullchain.pem",
                        dir_ + "/" + data + "/certs/site.test/privkey.pem"};
    }

    std::string dir_;
    std::unique_ptr<store::Store> store_;
};

TEST_F(StoreStateTest, LeaseHasOneHolderUntilExpiry) {
    auto a = take("node-a", kT0);
    ASSERT_TRUE(a) << a.error().detail;
    EXPECT_NE(record().find("\"owner\":\"node-a\""), std::string::npos);
    auto b = take("node-b", kT0 + seconds(10));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, Errc::kConflict);
    EXPECT_NE(b.error().detail.find("held by node-a for another 590s"), std::string::npos);
    // Refresh moves the expiry: still held at t0 + 800, free after t0 + 900.
    ASSERT_TRUE((*a)->refresh(kT0 + seconds(300)));
    EXPECT_FALSE(take("node-b", kT0 + seconds(800)));
    // The same owner may take its own lease again (a restart with a fixed owner name).
    auto again = take("node-a", kT0 + seconds(850));
    ASSERT_TRUE(again) << again.error().detail;
    (*again)->release();
    // Released: free at once, without waiting for the expiry.
    EXPECT_TRUE(take("node-b", kT0 + seconds(851)));
}

TEST_F(StoreStateTest, ExpiredLeaseIsTakenOverAndTheOldHolderLearnsIt) {
    auto a = take("node-a", kT0);
    ASSERT_TRUE(a);
    auto b = take("node-b", kT0 + seconds(601));  // a's lease ran out
    ASSERT_TRUE(b) << b.error().detail;
    // a's refresh is a compare-and-swap on the ETag it wrote: b's record does not match.
    auto r = (*a)->refresh(kT0 + seconds(602));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_NE(r.error().detail.find("lost"), std::string::npos);
    // a's release after the loss must not free b's lease.
    (*a)->release();
    a->reset();
    EXPECT_NE(record().find("\"owner\":\"node-b\""), std::string::npos);
    auto c = take("node-c", kT0 + seconds(603));
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().detail.find("held by node-b"), std::string::npos);
    // b keeps refreshing fine.
    EXPECT_TRUE((*b)->refresh(kT0 + seconds(700)));
}

TEST_F(StoreStateTest, ReleaseWritesAnExpiredRecordInsteadOfDeleting) {
    {
        auto a = take("node-a", kT0);
        ASSERT_TRUE(a);
    }  // the destructor releases
    EXPECT_NE(record().find("\"expires\":0"), std::string::npos);
    EXPECT_NE(record().find("\"owner\":\"node-a\""), std::string::npos);
    EXPECT_TRUE(take("node-b", kT0 + seconds(1)));
}

TEST_F(StoreStateTest, RaceBetweenReadAndWriteIsAConflict) {
    auto a = take("node-a", kT0);
    ASSERT_TRUE(a);
    // Another writer replaces the record (as a racing process between our read and write
    // would): our next conditional write fails instead of overwriting it.
    store::PutOptions plain;
    ASSERT_TRUE(internal::put_object(*store_, kBucket, "locks/order",
                                     R"({"owner":"node-x","expires":1700000900,"token":"t"})",
                                     plain));
    auto r = (*a)->refresh(kT0 + seconds(5));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_NE(record().find("node-x"), std::string::npos);
    // Lost stays lost: no later refresh succeeds, even once node-x's record expires.
    EXPECT_FALSE((*a)->refresh(kT0 + seconds(1000)));
    // A record nobody can parse does not block ordering for ever.
    ASSERT_TRUE(internal::put_object(*store_, kBucket, "locks/order", "garbage", plain));
    EXPECT_TRUE(take("node-b", kT0 + seconds(6)));
}

TEST_F(StoreStateTest, CreateRaceHasOneWinner) {
    // Both found no record; the second create (If-None-Match: *) must fail.
    store::PutOptions create;
    create.if_none_match_any = true;
    ASSERT_TRUE(internal::put_object(*store_, kBucket, "k", "one", create));
    auto second = internal::put_object(*store_, kBucket, "k", "two", create);
    ASSERT_FALSE(second);
    EXPECT_TRUE(internal::lost_race(second.error()));
}

TEST_F(StoreStateTest, CertificatesAndAccountKeyLiveInTheBucketWithLocalCopies) {
    auto a = open_store_state(*store_, dir_ + "/a/acme");
    ASSERT_TRUE(a) << a.error().detail;
    auto b = open_store_state(*store_, dir_ + "/b/acme");
    ASSERT_TRUE(b);
    EXPECT_EQ((*a)->account_key().error().code, Errc::kNotFound);
    ASSERT_TRUE((*a)->save_account_key("account pem"));
    auto second = (*b)->save_account_key("other pem");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::kConflict);  // one account for the whole store
    EXPECT_EQ(*(*b)->account_key(), "account pem");

    CertPems pems = make_pems({"site.test"});
    EXPECT_EQ((*b)->load_cert(slot("b")).error().code, Errc::kNotFound);
    ASSERT_TRUE((*a)->save_cert(slot("a"), pems));
    EXPECT_EQ(*internal::read_file(slot("a").key_file), pems.key_pem);
    // b has no local copy yet: loading writes it and says so (the edge must reload).
    auto got = (*b)->load_cert(slot("b"));
    ASSERT_TRUE(got) << got.error().detail;
    EXPECT_TRUE(got->local_updated);
    EXPECT_EQ(got->pems.chain_pem, pems.chain_pem);
    EXPECT_EQ(*internal::read_file(slot("b").cert_file), pems.chain_pem);
    struct stat st {};
    ASSERT_EQ(::stat(slot("b").key_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE((*b)->load_cert(slot("b"))->local_updated);  // unchanged now
    // The object holds chain and key together; the store encrypts it at rest.
    auto obj = internal::get_object(*store_, kBucket, "certs/site.test/ecdsa.json");
    ASSERT_TRUE(obj);
    EXPECT_NE(obj->data.find("PRIVATE KEY"), std::string::npos);
}

// The order backoff round-trips per slot (ECDSA and RSA apart) in both state stores, and
// saving failures 0 clears it, also when there was none.
TEST_F(StoreStateTest, OrderBackoffRoundTripsAndClearsInBothStates) {
    auto in_store = open_store_state(*store_, dir_ + "/acme");
    ASSERT_TRUE(in_store) << in_store.error().detail;
    auto in_folder = open_folder_state(dir_ + "/folder");
    ASSERT_TRUE(in_folder) << in_folder.error().detail;
    for (StateStore* st : {in_store->get(), in_folder->get()}) {
        SCOPED_TRACE(st->where());
        CertSlot ecdsa{"site.test", false, dir_ + "/c.pem", dir_ + "/k.pem"};
        CertSlot rsa{"site.test", true, dir_ + "/c-rsa.pem", dir_ + "/k-rsa.pem"};
        auto none = st->order_backoff(ecdsa);
        ASSERT_TRUE(none) << none.error().detail;
        EXPECT_EQ(none->failures, 0);
        ASSERT_TRUE(st->save_order_backoff(ecdsa, {3, kT0 + seconds(240), "CA said no"}));
        auto got = st->order_backoff(ecdsa);
        ASSERT_TRUE(got);
        EXPECT_EQ(got->failures, 3);
        EXPECT_EQ(got->not_before, kT0 + seconds(240));
        EXPECT_EQ(got->last_error, "CA said no");
        EXPECT_EQ(st->order_backoff(rsa)->failures, 0);
        ASSERT_TRUE(st->save_order_backoff(ecdsa, {}));
        EXPECT_EQ(st->order_backoff(ecdsa)->failures, 0);
        EXPECT_TRUE(st->save_order_backoff(rsa, {}));  // nothing to clear: fine
    }
}

TEST_F(StoreStateTest, FolderStateIsImportedOnFirstUse) {
    // A data folder from before the store: sealed account key and a certificate on disk.
    const std::string folder = dir_ + "/old/acme";
    {
        auto f = open_folder_state(folder);
        ASSERT_TRUE(f);
        ASSERT_TRUE((*f)->save_account_key("old account pem"));
    }
    CertPems pems = make_pems({"site.test"});
    ASSERT_TRUE(internal::make_dirs(dir_ + "/old/certs/site.test", 0700));
    ASSERT_TRUE(internal::write_file_atomic(slot("old").cert_file, pems.chain_pem, 0644));
    ASSERT_TRUE(internal::write_file_atomic(slot("old").key_file, pems.key_pem, 0600));

    auto s = open_store_state(*store_, folder);
    ASSERT_TRUE(s) << s.error().detail;
    EXPECT_EQ(*(*s)->account_key(), "old account pem");
    // The sealed copy and its key are gone once the store holds the account key.
    EXPECT_FALSE(std::filesystem::exists(folder + "/account.key.sealed"));
    EXPECT_FALSE(std::filesystem::exists(folder + "/seal.key"));
    // The certificate is imported at its first load, not re-ordered; the files stay.
    auto got = (*s)->load_cert(slot("old"));
    ASSERT_TRUE(got) << got.error().detail;
    EXPECT_FALSE(got->local_updated);
    EXPECT_TRUE(internal::get_object(*store_, kBucket, "certs/site.test/ecdsa.json"));
    EXPECT_TRUE(std::filesystem::exists(slot("old").cert_file));
    // An unusable local file is not imported.
    auto other = slot("old");
    other.host = "other.test";
    other.cert_file += ".x";
    ASSERT_TRUE(internal::write_file_atomic(other.cert_file, "not a certificate", 0644));
    EXPECT_EQ((*s)->load_cert(other).error().code, Errc::kNotFound);
    EXPECT_FALSE(internal::get_object(*store_, kBucket, "certs/other.test/ecdsa.json"));
}

TEST_F(StoreStateTest, SecondManagerServesWhatTheFirstStored) {
    // Manager A's data folder holds a certificate (imported on its first check); manager B,
    // with another data folder and the same store, swaps it in without ordering.
    CertPems pems = make_pems({"site.test"});
    ASSERT_TRUE(internal::make_dirs(dir_ + "/a/certs/site.test", 0700));
    ASSERT_TRUE(internal::write_file_atomic(slot("a").cert_file, pems.chain_pem, 0644));
    ASSERT_TRUE(internal::write_file_atomic(slot("a").key_file, pems.key_pem, 0600));
    std::vector<std::string> requests;
    auto make = [&](const std::string& data, int& changes) {
        AcmeSettings s;
        s.directory_url = "https://ca.test/dir";
        s.state_dir = dir_ + "/" + data;
        s.challenge = ChallengeType::kHttp01;
        ManagerOptions o;
        o.clock = [] { return std::chrono::system_clock::now(); };
        o.random = [] { return 0.5; };
        o.transport = [&](const edge::ClientRequest& r) -> Result<edge::ClientResponse> {
            requests.push_back(r.method + " " + r.url);
            return make_error(Errc::kUnavailable, "refused");
        };
        auto st = open_store_state(*store_, s.state_dir);
        EXPECT_TRUE(st);
        o.state = std::move(*st);
        CertSlot sl = slot(data);
        ManagedCert c{"site.test", {"site.test"}, sl.cert_file, sl.key_file, "", ""};
        auto m = Manager::create(
            s, {c}, std::make_shared<ChallengeBoard>(), [&changes] { ++changes; }, o);
        EXPECT_TRUE(m) << m.error().detail;
        return std::move(*m);
    };
    int changes_a = 0, changes_b = 0;
    auto a = make("a", changes_a);
    a->run_due();
    EXPECT_EQ(changes_a, 0);  // the edge already loaded these files
    auto b = make("b", changes_b);
    b->run_due();
    EXPECT_EQ(changes_b, 1);  // new local copy from the store: the edge must reload
    EXPECT_EQ(*internal::read_file(slot("b").cert_file), pems.chain_pem);
    for (const auto& r : requests) EXPECT_EQ(r, "GET https://ca.test/dir");  // no order
    EXPECT_EQ(a->failed_orders() + b->failed_orders(), 0u);
    EXPECT_TRUE(b->status()[0].has_cert);
}

}  // namespace
}  // namespace moat::acme

// The store StateStore (state_store.h): objects in the internal bucket `moat-acme`, encrypted
// at rest by the store; the order lock a StoreLease; local copies of the certificates under
// <state_dir>/certs/ for the edge; a folder's state imported on first use.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "acme/internal/crypto.h"
#include "acme/internal/store_io.h"
#include "acme/sealer.h"
#include "acme/state_store.h"
#include "acme/store_lease.h"
#include "core/log.h"
#include "store/store.h"
#include "tls/cert_key.h"

namespace moat::acme {
namespace {

constexpr char kAccountLabel[] = "moat-acme-account-key";  // as the folder state seals it
constexpr char kAccountKey[] = "account.key";
constexpr char kLockKey[] = "locks/order";

std::string dir_of(const std::string& path) {
    return std::filesystem::path(path).parent_path().string();
}

std::string object_key(const CertSlot& slot) {
    return "certs/" + slot.host + (slot.rsa ? "/rsa.json" : "/ecdsa.json");
}

std::string backoff_key(const CertSlot& slot) {
    return "certs/" + slot.host + (slot.rsa ? "/rsa-backoff.json" : "/ecdsa-backoff.json");
}

Result<CertPems> parse_pems(const std::string& text, const std::string& what) {
    try {
        auto j = nlohmann::json::parse(text);
        return CertPems{j.at("chain").get<std::string>(), j.at("key").get<std::string>()};
    } catch (const nlohmann::json::exception&) {
        return make_error(Errc::kInvalidArgument, what + ": not a stored certificate");
    }
}

std::string dump_pems(const CertPems& p) {
    return nlohmann::json{{"chain", p.chain_pem}, {"key", p.key_pem}}.dump() + "\n";
}

Result<void> write_local(const CertSlot& slot, const CertPems& pems) {
    MOAT_TRY(internal::make_dirs(dir_of(slot.cert_file), 0700));
    MOAT_TRY(internal::make_dirs(dir_of(slot.key_file), 0700));
    // Key first: a reader that sees the new chain must find its key (the loader checks).
    MOAT_TRY(internal::write_file_atomic(slot.key_file, pems.key_pem, 0600));
    return internal::write_file_atomic(slot.cert_file, pems.chain_pem, 0644);
}

class StoreState : public StateStore {
public:
    StoreState(store::Store& store, std::string bucket)
        : store_(store), bucket_(std::move(bucket)) {}

    std::string where() const override { return "store bucket " + bucket_; }

    Result<std::string> account_key() override {
        auto obj = internal::get_object(store_, bucket_, kAccountKey);
        if (!obj) return obj.error();
        return std::move(obj->data);
    }

    Result<void> save_account_key(std::string_view pem) override {
        store::PutOptions opts;
        opts.if_none_match_any = true;  // one account for every process sharing the store
        auto put = internal::put_object(store_, bucket_, kAccountKey, pem, opts);
        if (put) return {};
        if (internal::lost_race(put.error()))
            return make_error(Errc::kConflict, "another process saved an ACME account key");
        return put.error();
    }

    Result<LoadedCert> load_cert(const CertSlot& slot) override {
        const std::string key = object_key(slot);
        auto obj = internal::get_object(store_, bucket_, key);
        if (!obj && obj.error().code == Errc::kNotFound) return import_local(slot);
        if (!obj) return obj.error();
        auto pems = parse_pems(obj->data, bucket_ + "/" + key);
        if (!pems) return pems.error();
        LoadedCert out{std::move(*pems), false};
        auto chain = internal::read_file(slot.cert_file);
        auto pkey = internal::read_file(slot.key_file);
        if (!chain || !pkey || *chain != out.pems.chain_pem || *pkey != out.pems.key_pem) {
            MOAT_TRY(write_local(slot, out.pems));
            out.local_updated = true;
        }
        return out;
    }

    Result<void> save_cert(const CertSlot& slot, const CertPems& pems) override {
        // The store first: it is what the other processes read; the local copy follows.
        auto put = internal::put_object(store_, bucket_, object_key(slot), dump_pems(pems), {});
        if (!put) return put.error();
        return write_local(slot, pems);
    }

    Result<OrderBackoff> order_backoff(const CertSlot& slot) override {
        auto obj = internal::get_object(store_, bucket_, backoff_key(slot));
        if (!obj && obj.error().code == Errc::kNotFound) return OrderBackoff{};
        if (!obj) return obj.error();
        return backoff_from_json(obj->data);
    }

    Result<void> save_order_backoff(const CertSlot& slot, const OrderBackoff& b) override {
        if (b.failures == 0) {
            auto del = store_.remove(bucket_, backoff_key(slot));
            if (!del && del.error().code != Errc::kNotFound) return del.error();
            return {};
        }
        auto put = internal::put_object(store_, bucket_, backoff_key(slot), backoff_to_json(b), {});
        if (!put) return put.error();
        return {};
    }

    Result<std::unique_ptr<Lease>> lock(const std::string& owner, std::chrono::seconds ttl,
                                        TimePoint now) override {
        auto l = StoreLease::acquire(store_, bucket_, kLockKey, owner, ttl, now);
        if (!l) return l.error();
        return std::unique_ptr<Lease>(std::move(*l));
    }

private:
    // Migration: a certificate issued before this data folder used a store is imported, so a
    // valid one is not ordered again. Created only if absent: another process's newer order
    // wins over our old files.
    Result<LoadedCert> import_local(const CertSlot& slot) {
        auto chain = internal::read_file(slot.cert_file);
        auto pkey = internal::read_file(slot.key_file);
        if (!chain || !pkey)
            return make_error(Errc::kNotFound, "no certificate stored for " + slot.host);
        if (!tls::load_cert_key_pem(*chain, *pkey))
            return make_error(Errc::kNotFound, "no usable certificate stored for " + slot.host);
        CertPems pems{std::move(*chain), std::move(*pkey)};
        store::PutOptions opts;
        opts.if_none_match_any = true;
        auto put = internal::put_object(store_, bucket_, object_key(slot), dump_pems(pems), opts);
        if (!put && internal::lost_race(put.error())) return load_cert(slot);
        if (!put) return put.error();
        core::logger("acme")->info("certificate imported into the store name={} key={}", slot.host,
                                   slot.rsa ? "rsa2048" : "ecdsa-p256");
        return LoadedCert{std::move(pems), false};
    }

    store::Store& store_;
    std::string bucket_;
};

// Migration of the folder's account key: sealed by seal.key there, stored as an object here
// (the store encrypts it under its master key). The folder's files are removed once the store
// holds an account key, ours or one another process imported first (then ours is unused).
Result<void> import_account_key(StoreState& st, const std::string& dir) {
    const std::string sealed_path = dir + "/account.key.sealed";
    const std::string seal_path = dir + "/seal.key";
    auto sealed = internal::read_file(sealed_path);
    if (!sealed) return sealed.error().code == Errc::kNotFound ? Result<void>() : sealed.error();
    auto log = core::logger("acme");
    auto have = st.account_key();
    if (!have && have.error().code != Errc::kNotFound) return have.error();
    if (!have) {
        if (!std::filesystem::exists(seal_path))
            return make_error(Errc::kInvalidArgument, sealed_path + ": no seal.key beside it");
        auto sealer = FileKeySealer::open_or_create(seal_path);
        if (!sealer) return sealer.error();
        auto pem = (*sealer)->open(*sealed, kAccountLabel);
        if (!pem) return make_error(pem.error().code, sealed_path + ": " + pem.error().detail);
        auto saved = st.save_account_key(*pem);
        if (!saved && saved.error().code != Errc::kConflict) return saved.error();
        have = st.account_key();  // read back: removed below only once the store has it
        if (!have) return have.error();
        log->info("acme account key imported into the store from {}", sealed_path);
    } else {
        log->info("acme account key already in the store; {} is not used", sealed_path);
    }
    std::error_code ec;
    std::filesystem::remove(sealed_path, ec);
    std::filesystem::remove(seal_path, ec);
    return {};
}

}  // namespace

Result<std::unique_ptr<StateStore>> open_store_state(store::Store& store, const std::string& dir,
                                                     const std::string& bucket) {
    MOAT_TRY(internal::make_dirs(dir, 0700));
    // Unversioned: each object has one current value; the lease's compare-and-swap works on it.
    auto made = store.create_bucket(bucket);
    if (!made && store::reason_of(made.error()) != store::Reason::kBucketExists)
        return made.error();
    auto st = std::make_unique<StoreState>(store, bucket);
    if (auto m = import_account_key(*st, dir); !m)
        core::logger("acme")->warn("acme account key not imported into the store err={}",
                                   m.error().detail);
    return std::unique_ptr<StateStore>(std::move(st));
}

}  // namespace moat::acme

#pragma once
// Where the ACME part keeps what must outlive a process and be shared between processes: the
// account key, each issued certificate chain with its private key, the backoff after a failed
// order, and the order lock. Two implementations, so the Manager does not care which one it has:
//
//   folder  <state_dir>/: account.key.sealed (AES-256-GCM under seal.key, see sealer.h),
//           certs/<host>/{fullchain,privkey}[-rsa].pem, certs/<host>/backoff[-rsa].json,
//           order.lock (LeaseLock). For moat without a store; processes share the state by
//           sharing <data_dir>.
//   store   the internal bucket `moat-acme` of the object store, which encrypts every object
//           at rest under its master key: account.key, certs/<host>/{ecdsa,rsa}.json (chain
//           and key in one object, so a reader never pairs a new chain with an old key),
//           certs/<host>/{ecdsa,rsa}-backoff.json and locks/order (a StoreLease). Processes
//           share the state by sharing the store. The edge still loads the files under
//           <state_dir>/certs/: the store state keeps them as a local copy of its objects
//           (see load_cert).
//
// Blocking (files, SQLite); used from the Manager's thread only, so not thread-safe.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "acme/cert_status.h"
#include "core/result.h"

namespace moat::store {
class Store;
}

namespace moat::acme {

// One certificate: a host's ECDSA one or its RSA-2048 companion.
struct CertSlot {
    std::string host;       // canonical name, a wildcard's '*' as '_' (a file name)
    bool rsa = false;       // the RSA-2048 companion
    std::string cert_file;  // the local files the edge loads (tls::CertSpec)
    std::string key_file;
};

struct CertPems {
    std::string chain_pem;  // leaf first
    std::string key_pem;    // PKCS#8
};

struct LoadedCert {
    CertPems pems;
    // The local files were (re)written from the stored copy just now: another process ordered
    // it, or this data folder is new to the store. The edge must reload to serve them.
    bool local_updated = false;
};

// A held lease on the order lock. Released in the destructor, too.
class Lease {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    virtual ~Lease() = default;
    // Extends the lease to now + ttl. kConflict when another owner took it meanwhile (ours
    // had expired): the caller must stop ordering.
    virtual Result<void> refresh(TimePoint now) = 0;
    // Gives the lease up if it is still ours; never takes it from a new holder.
    virtual void release() = 0;
};

class StateStore {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    virtual ~StateStore() = default;

    // "folder <dir>" / "store bucket moat-acme", for log lines.
    virtual std::string where() const = 0;

    // The account key (PEM). kNotFound when none was saved; kInvalidArgument when the stored
    // copy cannot be opened (wrong seal key, altered).
    virtual Result<std::string> account_key() = 0;
    // Saves a new account key. kConflict when another process saved one first (store): the
    // caller reads that one instead, so every process uses one account.
    virtual Result<void> save_account_key(std::string_view pem) = 0;

    // The stored certificate of `slot`; kNotFound when there is none.
    virtual Result<LoadedCert> load_cert(const CertSlot& slot) = 0;
    // Saves a newly issued certificate (and, for the store, its local copy).
    virtual Result<void> save_cert(const CertSlot& slot, const CertPems& pems) = 0;

    // The backoff of `slot` (failures 0 when there is none). Read and written under the order
    // lock. save_order_backoff with failures 0 clears it.
    virtual Result<OrderBackoff> order_backoff(const CertSlot& slot) = 0;
    virtual Result<void> save_order_backoff(const CertSlot& slot, const OrderBackoff& b) = 0;

    // Takes the order lock for `ttl` if it is free, expired or already `owner`'s.
    // kConflict "ACME lock ... held by <owner> for another N s" when someone else holds it.
    virtual Result<std::unique_ptr<Lease>> lock(const std::string& owner, std::chrono::seconds ttl,
                                                TimePoint now) = 0;
};

// The folder state in `dir` (created 0700), opening or creating <dir>/seal.key. Errors: kIo,
// kDenied (seal key readable by others), kInvalidArgument (seal key of the wrong size).
Result<std::unique_ptr<StateStore>> open_folder_state(const std::string& dir);

// The store state in bucket `bucket` of `store` (created on first use, unversioned; S3
// principals reach it only through a grant naming it or "*"). `store` must outlive the
// result. `dir` is the folder state of this data folder: the local certificate copies go
// there, and on first use its account key is imported into the store (then its sealed file
// and seal.key are removed) and each certificate it holds is imported when the store has none
// for that host (the files stay: they are the local copy). Errors: the store's, kIo.
Result<std::unique_ptr<StateStore>> open_store_state(store::Store& store, const std::string& dir,
                                                     const std::string& bucket = "moat-acme");

}  // namespace moat::acme

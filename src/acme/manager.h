#pragma once
// acme::Manager: keeps every `tls = "acme"` certificate issued and fresh.
//
// Owned by the app (AcmeService); runs one thread of its own, where all blocking work happens
// (HTTP to the CA, DNS updates, key generation, files). At start it reads the stored
// certificates, so a restart never re-orders what is still good; it orders missing ones,
// renews on the CA's ARI window or at a fraction of the lifetime, backs off on failure (up to
// 6 h, longer only when the CA says Retry-After) while the old certificate keeps serving, and
// calls on_change() after a new certificate was written so the app can build a new CertTable
// and swap it into the edge (ServerContext::set_certs, no connection dropped).
//
// Account key, certificates and the order lock live in a StateStore (state_store.h): the
// store's `moat-acme` bucket when moat has a store, else <data_dir>/acme. Several processes
// sharing either coordinate through its lease: only the holder orders (refreshing the lease
// while it works); the others notice the new certificate on their next check and swap it in.
//
// Thread-safety: set_certs(), status(), start(), stop() may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acme/acme_client.h"
#include "acme/cert_status.h"
#include "acme/challenge_board.h"
#include "acme/issuer.h"
#include "acme/settings.h"
#include "acme/state_store.h"
#include "core/result.h"

namespace moat::acme {

struct ManagedCert {
    std::string name;                // canonical host
    std::vector<std::string> names;  // everything to order, canonical first
    std::string cert_file;           // PEM chain (leaf first), as tls::CertSpec::cert_file
    std::string key_file;            // PEM key, mode 0600, as tls::CertSpec::key_file
    // AcmeSettings::rsa_extra: a second, RSA-2048 certificate for the same names, ordered and
    // renewed like the first (its own status, backoff and ARI window). Empty: none.
    std::string rsa_cert_file;  // as tls::CertSpec::rsa_cert_file
    std::string rsa_key_file;   // as tls::CertSpec::rsa_key_file
};

struct ManagerOptions {
    Transport transport;  // default: edge::HttpClient with the settings' CA bundle
    std::function<std::chrono::system_clock::time_point()> clock;  // default: system_clock::now
    IssuerOptions issuer;
    std::function<double()> random;             // [0, 1) for jitter; default: a seeded engine
    std::string lock_owner;                     // default: LeaseLock::default_owner()
    std::chrono::seconds check_interval{3600};  // re-check of valid certs (ARI, expiry)
    // Where the state lives; default: open_folder_state(settings.state_dir).
    std::shared_ptr<StateStore> state;
};

class Manager {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    using Clock = std::function<TimePoint()>;

    using Options = ManagerOptions;

    // Validates the settings (state_dir set, the dns-01 solver buildable when chosen) and,
    // without opts.state, opens the folder state (<state_dir>/seal.key). Does no network I/O.
    // Errors: kInvalidArgument, kIo, kDenied (seal key readable by others).
    static Result<std::unique_ptr<Manager>> create(AcmeSettings settings,
                                                   std::vector<ManagedCert> certs,
                                                   std::shared_ptr<ChallengeBoard> board,
                                                   std::function<void()> on_change,
                                                   Options opts = {});
    ~Manager();
    Manager(const Manager&) = delete;
    Manager& operator=(const Manager&) = delete;

    void start();
    void stop();  // waits for the current step (bounded by HTTP and poll timeouts)

    // A reload: new or changed entries are checked at once, removed ones are forgotten.
    void set_certs(std::vector<ManagedCert> certs);
    // One status per certificate: a ManagedCert with RSA files has two (same name, rsa set).
    std::vector<CertStatus> status() const;
    // Orders that failed since start (for moat_acme_order_failures_total).
    std::uint64_t failed_orders() const { return failed_orders_.load(); }

    // One pass over every certificate that is due; returns when the next one is. The thread
    // calls it in a loop; tests call it directly with a fake clock and transport.
    TimePoint run_due();

private:
    // One certificate: a ManagedCert's ECDSA one, or its RSA one (then spec.cert_file and
    // spec.key_file are the RSA files and rsa is set). Keyed in entries_ by entry_key().
    struct Entry {
        ManagedCert spec;
        bool rsa = false;
        CertStatus st;
        TimePoint next_check{};
        TimePoint ari_next_poll{};
        std::optional<RenewalWindow> ari;
        TimePoint known_not_after{};  // of the files last seen (what the edge serves)
        bool checked = false;
        TimePoint last_expiry_warning{};
    };
    Manager(AcmeSettings s, std::shared_ptr<ChallengeBoard> board, std::function<void()> on_change,
            Options opts);

    bool check(Entry& e, TimePoint now);  // true if the served files changed
    // `lost`: the lease passed to another process during the order (which then stopped).
    Result<void> order(Entry& e, Lease& lease, const std::string& replaces, bool& lost);
    bool stopping();
    Result<void> ensure_account();
    Result<std::vector<Solver*>> solvers();
    void save_status(const Entry& e);
    void loop();
    double rnd();

    AcmeSettings s_;
    std::shared_ptr<ChallengeBoard> board_;
    std::function<void()> on_change_;
    Options opts_;
    std::shared_ptr<StateStore> state_;

    // Touched only by the thread running run_due().
    std::unique_ptr<AcmeClient> client_;
    std::optional<AccountKey> account_;
    std::vector<std::unique_ptr<Solver>> solver_store_;

    mutable std::mutex mu_;  // guards entries_, stop_, wake_
    std::condition_variable cv_;
    std::map<std::string, Entry> entries_;
    bool stop_ = false;
    std::atomic<std::uint64_t> failed_orders_{0};
    bool wake_ = false;
    std::thread thread_;
};

}  // namespace moat::acme

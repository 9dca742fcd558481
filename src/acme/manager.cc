#include "acme/manager.h"

#include <algorithm>
#include <filesystem>
#include <random>

#include "acme/internal/crypto.h"
#include "acme/lease_lock.h"
#include "acme/renewal.h"
#include "acme/x509_tools.h"
#include "core/log.h"
#include "edge/client.h"
#include "tls/cert_key.h"

namespace moat::acme {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr seconds kLockTtl{600};

std::string dir_of(const std::string& path) {
    return std::filesystem::path(path).parent_path().string();
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool covers_all(const tls::CertKey& ck, const std::vector<std::string>& names) {
    for (const auto& n : names)
        if (!ck.covers(lower(n))) return false;
    return true;
}

// A host's RSA certificate is an entry of its own beside the ECDSA one.
std::string entry_key(const std::string& name, bool rsa) { return rsa ? name + " rsa" : name; }

std::string status_path(const std::string& cert_file, bool rsa) {
    return dir_of(cert_file) + (rsa ? "/status-rsa.json" : "/status.json");
}

const char* key_type(bool rsa) { return rsa ? "rsa2048" : "ecdsa-p256"; }

CertSlot slot_of(const ManagedCert& c, bool rsa) {
    std::string host = c.name;
    for (char& ch : host)
        if (ch == '*') ch = '_';
    return CertSlot{host, rsa, c.cert_file, c.key_file};
}

// The stored certificate of an entry, parsed; `local_updated` as LoadedCert's.
Result<std::shared_ptr<const tls::CertKey>> load_stored(StateStore& state, const CertSlot& slot,
                                                        bool* local_updated) {
    auto loaded = state.load_cert(slot);
    if (!loaded) return loaded.error();
    if (local_updated) *local_updated = loaded->local_updated;
    auto ck = tls::load_cert_key_pem(loaded->pems.chain_pem, loaded->pems.key_pem);
    if (!ck) return make_error(ck.error().code, slot.cert_file + ": " + ck.error().detail);
    return ck;
}

// The stored files hold the key type this entry orders (not a leftover of another setting).
bool right_key(const tls::CertKey& ck, bool rsa) {
    return (EVP_PKEY_get_base_id(ck.key()) == EVP_PKEY_RSA) == rsa;
}

}  // namespace

Result<std::unique_ptr<Manager>> Manager::create(AcmeSettings settings,
                                                 std::vector<ManagedCert> certs,
                                                 std::shared_ptr<ChallengeBoard> board,
                                                 std::function<void()> on_change, Options opts) {
    if (settings.state_dir.empty())
        return make_error(Errc::kInvalidArgument, "acme: no state directory");
    if (!board) return make_error(Errc::kInvalidArgument, "acme: no challenge board");
    MOAT_TRY(internal::make_dirs(settings.state_dir, 0700));
    if (!opts.state) {
        auto st = open_folder_state(settings.state_dir);
        if (!st) return st.error();
        opts.state = std::move(*st);
    }
    bool want_dns = settings.challenge == ChallengeType::kDns01 ||
                    (settings.challenge == ChallengeType::kAuto && settings.dns.configured());
    if (want_dns) {
        // Fail at start, not at the first order, when the dns-01 settings cannot work.
        if (auto s = make_dns01_solver(settings.dns); !s) return s.error();
    }
    if (!opts.clock) opts.clock = [] { return std::chrono::system_clock::now(); };
    if (!opts.random) {
        auto eng = std::make_shared<std::mt19937_64>(std::random_device{}());
        opts.random = [eng] { return std::uniform_real_distribution<double>(0, 1)(*eng); };
    }
    if (opts.lock_owner.empty()) opts.lock_owner = LeaseLock::default_owner();
    if (!opts.transport) {
        edge::ClientOptions co;
        co.ca_file = settings.ca_bundle;
        co.resolve = settings.resolve;
        co.max_body = 1 << 20;  // directory, orders and chains are a few KiB
        auto client = std::make_shared<edge::HttpClient>(co);
        opts.transport = [client](const edge::ClientRequest& r) { return client->fetch(r); };
    }
    std::unique_ptr<Manager> m(
        new Manager(std::move(settings), std::move(board), std::move(on_change), std::move(opts)));
    Manager* raw = m.get();
    // Polls sleep on the manager's condition variable, so stop() ends them at once.
    if (!raw->opts_.issuer.sleep) {
        raw->opts_.issuer.sleep = [raw](std::chrono::milliseconds d) {
            std::unique_lock lock(raw->mu_);
            raw->cv_.wait_for(lock, d, [raw] { return raw->stop_; });
        };
    }
    if (!raw->opts_.issuer.cancelled) {
        raw->opts_.issuer.cancelled = [raw] {
            std::lock_guard lock(raw->mu_);
            return raw->stop_;
        };
    }
    m->set_certs(std::move(certs));
    return m;
}

Manager::Manager(AcmeSettings s, std::shared_ptr<ChallengeBoard> board,
                 std::function<void()> on_change, Options opts)
    : s_(std::move(s)),
      board_(std::move(board)),
      on_change_(std::move(on_change)),
      opts_(std::move(opts)),
      state_(opts_.state) {}

Manager::~Manager() { stop(); }

void Manager::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stop_ = false;
    thread_ = std::thread([this] { loop(); });
}

void Manager::stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Manager::set_certs(std::vector<ManagedCert> certs) {
    // The RSA certificate is ordered, renewed and backed off like the ECDSA one, as an entry of
    // its own whose files are the RSA ones: a failing RSA order never holds up the ECDSA one.
    std::vector<std::pair<ManagedCert, bool>> units;
    for (auto& c : certs) {
        if (!c.rsa_cert_file.empty() && !c.rsa_key_file.empty())
            units.push_back(
                {ManagedCert{c.name, c.names, c.rsa_cert_file, c.rsa_key_file, "", ""}, true});
        c.rsa_cert_file.clear();
        c.rsa_key_file.clear();
        units.push_back({std::move(c), false});
    }
    std::lock_guard lock(mu_);
    std::map<std::string, Entry> next;
    for (auto& [c, rsa] : units) {
        const std::string key = entry_key(c.name, rsa);
        auto it = entries_.find(key);
        Entry e;
        if (it != entries_.end() && it->second.spec.names == c.names &&
            it->second.spec.cert_file == c.cert_file) {
            e = std::move(it->second);
        } else {
            e.rsa = rsa;
            e.st.name = c.name;
            e.st.names = c.names;
            e.st.rsa = rsa;
            // A status file from an earlier run keeps the failure count and backoff.
            auto text = internal::read_file(status_path(c.cert_file, rsa));
            if (text) {
                if (auto old = status_from_json(*text); old && old->names == c.names) {
                    e.st.failures = old->failures;
                    e.st.last_error = old->last_error;
                    e.st.next_attempt = old->next_attempt;
                    e.st.last_issued = old->last_issued;
                }
            }
        }
        e.spec = std::move(c);
        e.next_check = {};
        next.emplace(key, std::move(e));
    }
    entries_ = std::move(next);
    wake_ = true;
    cv_.notify_all();
}

std::vector<CertStatus> Manager::status() const {
    std::lock_guard lock(mu_);
    std::vector<CertStatus> out;
    for (const auto& [_, e] : entries_) out.push_back(e.st);
    return out;
}

double Manager::rnd() { return opts_.random(); }

void Manager::loop() {
    auto log = core::logger("acme");
    log->info("acme manager started directory={}", s_.directory_url);
    for (;;) {
        TimePoint next = run_due();
        std::unique_lock lock(mu_);
        if (stop_) break;
        // Wall-clock deadline, re-evaluated at least every minute (suspend, clock steps).
        auto wait = std::clamp<std::chrono::system_clock::duration>(next - opts_.clock(),
                                                                    seconds(0), minutes(1));
        cv_.wait_for(lock, wait, [&] { return stop_ || wake_; });
        wake_ = false;
        if (stop_) break;
    }
    log->info("acme manager stopped");
}

Manager::TimePoint Manager::run_due() {
    std::vector<std::string> due;
    TimePoint now = opts_.clock();
    {
        std::lock_guard lock(mu_);
        for (auto& [name, e] : entries_)
            if (e.next_check <= now) due.push_back(name);
    }
    bool changed = false;
    for (const auto& name : due) {
        Entry e;
        {
            std::lock_guard lock(mu_);
            if (stop_) break;
            auto it = entries_.find(name);
            if (it == entries_.end()) continue;
            e = it->second;
        }
        changed = check(e, opts_.clock()) || changed;
        save_status(e);
        std::lock_guard lock(mu_);
        auto it = entries_.find(name);
        // Keep the result unless a reload replaced the entry meanwhile.
        if (it != entries_.end() && it->second.spec.names == e.spec.names)
            it->second = std::move(e);
    }
    if (changed && on_change_) on_change_();
    std::lock_guard lock(mu_);
    TimePoint next = opts_.clock() + opts_.check_interval;
    for (const auto& [_, e] : entries_) next = std::min(next, e.next_check);
    return next;
}

bool Manager::check(Entry& e, TimePoint now) {
    auto log = core::logger("acme");
    bool changed = false;
    const CertSlot slot = slot_of(e.spec, e.rsa);
    bool local_updated = false;
    auto stored = load_stored(*state_, slot, &local_updated);
    bool usable = stored && covers_all(**stored, e.spec.names) && right_key(**stored, e.rsa);
    std::string replaces;
    TimePoint due = now;
    if (stored) {
        const tls::CertKey& ck = **stored;
        CertFacts f = cert_facts(ck);
        e.st.has_cert = true;
        e.st.issuer = f.issuer;
        e.st.not_after = f.not_after;
        if (e.known_not_after != f.not_after) {
            // New files (ours, or another process holding the lock wrote them). The first
            // look only learns what build_cert_table already loaded at start, unless the
            // local copy was just written from the store.
            if (e.checked || local_updated) changed = true;
            // Issued by another process sharing the state: its success ends our failing too.
            if (e.checked && usable && e.st.failures > 0) {
                e.st.failures = 0;
                e.st.last_error.clear();
                e.st.next_attempt = {};
            }
            e.known_not_after = f.not_after;
            e.ari.reset();
            e.ari_next_poll = {};
        }
        due = renewal_time(f.not_before, f.not_after, s_.renew_before_fraction, rnd());
        e.st.ari = false;
        auto cert_id = ari_cert_id(ck.leaf());
        if (cert_id && client_ == nullptr)
            client_ = std::make_unique<AcmeClient>(s_.directory_url, opts_.transport);
        if (cert_id && now >= e.ari_next_poll) {
            auto dir = client_->directory();
            if (dir && !(*dir)->renewal_info.empty()) {
                auto w = client_->renewal_info(*cert_id);
                // RFC 9773 §4.3: poll again after Retry-After, clamped here to [1 h, 1 day].
                auto again = std::clamp<seconds>(client_->retry_after().value_or(hours(6)),
                                                 hours(1), hours(24));
                e.ari_next_poll = now + again;
                if (w)
                    e.ari = *w;
                else
                    log->warn("renewalInfo failed name={} err={}; {}", e.spec.name,
                              w.error().detail,
                              e.ari ? "keeping the last window" : "renewing by the lifetime rule");
            } else {
                e.ari_next_poll = now + hours(6);
            }
        }
        if (e.ari) {
            due = ari_renewal_time(*e.ari, f.not_before, f.not_after, rnd());
            e.st.ari = true;
        }
        if (cert_id && e.ari) replaces = *cert_id;
        e.st.renew_at = due;
        double days = days_left(now, f.not_after);
        if (days < 7 && now - e.last_expiry_warning >= hours(1)) {
            e.last_expiry_warning = now;
            log->error(
                "certificate expires soon name={} key={} days_left={:.1f} not_after={}s state={}",
                e.spec.name, key_type(e.rsa), days,
                std::chrono::duration_cast<seconds>(f.not_after.time_since_epoch()).count(),
                e.st.state(now));
        }
    } else {
        e.known_not_after = TimePoint{};
        e.st.has_cert = false;
        if (stored.error().code != Errc::kNotFound)
            log->warn("stored certificate unusable name={} err={}", e.spec.name,
                      stored.error().detail);
    }

    e.checked = true;
    if (usable && now < due) {
        e.next_check = std::min(due, now + opts_.check_interval);
        return changed;
    }
    if (e.st.failures > 0 && now < e.st.next_attempt) {
        e.next_check = e.st.next_attempt;
        return changed;
    }

    auto lock = state_->lock(opts_.lock_owner, kLockTtl, now);
    if (!lock) {
        log->info("order deferred name={} reason={}", e.spec.name, lock.error().detail);
        e.next_check = now + seconds(10);
        return changed;
    }
    // Another process may have renewed while we waited for the lock.
    if (auto again = load_stored(*state_, slot, nullptr);
        again && covers_all(**again, e.spec.names) && right_key(**again, e.rsa) &&
        (*again)->not_after() != e.known_not_after) {
        e.next_check = now;
        return changed;
    }

    // A failed order of another process sharing this state is this one's too (one CA account,
    // one set of rate limits): its backoff holds here, and a failure here counts on from it.
    auto shared = state_->order_backoff(slot);
    if (!shared) {
        log->warn("order backoff unreadable name={} err={}", e.spec.name, shared.error().detail);
        shared = OrderBackoff{};
    }
    if (shared->failures > e.st.failures) {
        e.st.failures = shared->failures;
        e.st.last_error = shared->last_error;
        e.st.next_attempt = shared->not_before;
    }
    if (shared->failures > 0 && now < shared->not_before) {
        (*lock)->release();
        e.next_check = shared->not_before;
        log->info("order deferred name={} reason=another process's order failed retry_in={}s",
                  e.spec.name,
                  std::chrono::duration_cast<seconds>(shared->not_before - now).count());
        return changed;
    }

    log->info("ordering certificate name={} key={} names={} reason={}", e.spec.name,
              key_type(e.rsa), fmt::join(e.spec.names, ","),
              usable   ? "renewal due"
              : stored ? "names changed"
                       : "none stored");
    bool lost = false;
    auto r = order(e, **lock, replaces, lost);
    if (r && shared->failures > 0) {
        if (auto c = state_->save_order_backoff(slot, {}); !c)
            log->warn("order backoff not cleared name={} err={}", e.spec.name, c.error().detail);
    }
    // Interrupted by shutdown: not the CA's fault, no backoff.
    const bool interrupted = !r && !lost && stopping();
    if (!r && !lost && !interrupted) {
        // Saved before the lock is released, so no other process orders in between.
        e.st.failures++;
        e.st.last_error = r.error().detail;
        std::optional<seconds> ra;
        if (r.error().reason == static_cast<int>(Reason::kRateLimited) && client_)
            ra = client_->retry_after();
        e.st.next_attempt = now + backoff(e.st.failures, rnd(), ra);
        OrderBackoff b{e.st.failures, e.st.next_attempt, e.st.last_error};
        if (auto w = state_->save_order_backoff(slot, b); !w)
            log->warn("order backoff not shared name={} err={}", e.spec.name, w.error().detail);
    }
    (*lock)->release();
    if (r) {
        e.st.failures = 0;
        e.st.last_error.clear();
        e.st.next_attempt = {};
        e.st.last_issued = now;
        // The next look (at once) reads the new files, reports the change (one CertTable
        // rebuild) and schedules the renewal from the new dates.
        e.next_check = now;
        e.known_not_after = TimePoint{};
        log->info("certificate issued name={} key={}", e.spec.name, key_type(e.rsa));
        return changed;
    }
    if (lost) {  // another process took the lease over and orders: not a failure
        log->warn("order abandoned name={} reason={}", e.spec.name, r.error().detail);
        e.next_check = now + seconds(10);
        return changed;
    }
    if (interrupted) {
        e.next_check = now;
        return changed;
    }
    failed_orders_.fetch_add(1);
    auto wait = std::chrono::duration_cast<seconds>(e.st.next_attempt - now);
    e.next_check = e.st.next_attempt;
    log->error("certificate order failed name={} key={} failures={} retry_in={}s serving={} err={}",
               e.spec.name, key_type(e.rsa), e.st.failures, wait.count(),
               usable ? "old certificate" : "nothing (no certificate yet)", r.error().detail);
    return changed;
}

bool Manager::stopping() {
    std::lock_guard lock(mu_);
    return stop_;
}

Result<void> Manager::ensure_account() {
    if (!client_) client_ = std::make_unique<AcmeClient>(s_.directory_url, opts_.transport);
    if (account_) return {};
    std::optional<AccountKey> key;
    for (int attempt = 0; !key && attempt < 2; ++attempt) {
        auto pem = state_->account_key();
        if (pem) {
            auto k = AccountKey::from_pem(*pem);
            if (!k) return k.error();
            key = std::move(*k);
            break;
        }
        if (pem.error().code != Errc::kNotFound)
            return make_error(pem.error().code,
                              state_->where() + ": account key: " + pem.error().detail);
        auto k = AccountKey::generate();
        if (!k) return k.error();
        auto fresh = k->to_pem();
        if (!fresh) return fresh.error();
        auto saved = state_->save_account_key(*fresh);
        // kConflict: another process sharing the state saved one first; read and use that.
        if (!saved && saved.error().code != Errc::kConflict) return saved.error();
        if (saved) key = std::move(*k);
    }
    if (!key) return make_error(Errc::kInternal, state_->where() + ": no account key");
    auto url = client_->register_account(*key, s_.contact, s_.eab_kid, s_.eab_hmac_key);
    if (!url) return url.error();
    nlohmann::json acct = {{"directory", s_.directory_url}, {"account", *url}};
    (void)internal::write_file_atomic(s_.state_dir + "/account.json", acct.dump(2) + "\n", 0600);
    core::logger("acme")->info("acme account ready url={}", *url);
    account_ = std::move(*key);
    return {};
}

Result<std::vector<Solver*>> Manager::solvers() {
    if (solver_store_.empty()) {
        auto add_dns = [&]() -> Result<void> {
            auto s = make_dns01_solver(s_.dns, opts_.issuer.sleep, opts_.issuer.cancelled);
            if (!s) return s.error();
            solver_store_.push_back(std::move(*s));
            return {};
        };
        switch (s_.challenge) {
            case ChallengeType::kHttp01:
                solver_store_.push_back(make_http01_solver(board_));
                break;
            case ChallengeType::kTlsAlpn01:
                solver_store_.push_back(make_tls_alpn01_solver(board_));
                break;
            case ChallengeType::kDns01:
                MOAT_TRY(add_dns());
                break;
            case ChallengeType::kAuto:
                // dns-01 is the default wherever DNS update credentials are configured.
                if (s_.dns.configured()) MOAT_TRY(add_dns());
                solver_store_.push_back(make_http01_solver(board_));
                solver_store_.push_back(make_tls_alpn01_solver(board_));
                break;
        }
    }
    std::vector<Solver*> out;
    for (auto& s : solver_store_) out.push_back(s.get());
    return out;
}

Result<void> Manager::order(Entry& e, Lease& lease, const std::string& replaces, bool& lost) {
    MOAT_TRY(ensure_account());
    auto sv = solvers();
    if (!sv) return sv.error();
    IssuerOptions io = opts_.issuer;
    io.rsa = e.rsa;
    // The lease is refreshed between polls, a third of its lifetime after the last write, so an
    // order that takes long keeps it. Lost to another process (ours had expired): stop, the
    // other one orders.
    TimePoint refreshed = opts_.clock();
    lost = false;
    io.cancelled = [&, outer = io.cancelled] {
        if (outer && outer()) return true;
        TimePoint now = opts_.clock();
        if (!lost && now - refreshed >= kLockTtl / 3) {
            auto r = lease.refresh(now);
            if (r) {
                refreshed = now;
            } else if (r.error().code == Errc::kConflict) {
                lost = true;
            }
        }
        return lost;
    };
    Issuer issuer(*client_, *account_, *sv, io);
    auto issued = issuer.issue(e.spec.names, replaces);
    if (!issued)
        return lost ? make_error(Errc::kConflict, "ACME lock lost during the order")
                    : issued.error();
    return state_->save_cert(slot_of(e.spec, e.rsa), CertPems{issued->chain_pem, issued->key_pem});
}

void Manager::save_status(const Entry& e) {
    if (!internal::make_dirs(dir_of(e.spec.cert_file), 0700)) return;
    auto r = internal::write_file_atomic(status_path(e.spec.cert_file, e.rsa), status_to_json(e.st),
                                         0600);
    if (!r)
        core::logger("acme")->warn("status not saved name={} err={}", e.spec.name,
                                   r.error().detail);
}

}  // namespace moat::acme

#include "acme/solvers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "acme/jws.h"
#include "acme/x509_tools.h"
#include "core/log.h"

extern char** environ;

namespace moat::acme {
namespace {

class Http01Solver : public Solver {
public:
    explicit Http01Solver(std::shared_ptr<ChallengeBoard> b) : board_(std::move(b)) {}
    const char* type() const override { return "http-01"; }
    Result<void> present(const std::string&, const std::string& token,
                         const std::string& key_authz) override {
        board_->add_http01(token, key_authz);
        return {};
    }
    void cleanup(const std::string&, const std::string& token, const std::string&) override {
        board_->remove_http01(token);
    }

private:
    std::shared_ptr<ChallengeBoard> board_;
};

class TlsAlpn01Solver : public Solver {
public:
    explicit TlsAlpn01Solver(std::shared_ptr<ChallengeBoard> b) : board_(std::move(b)) {}
    const char* type() const override { return "tls-alpn-01"; }
    Result<void> present(const std::string& domain, const std::string&,
                         const std::string& key_authz) override {
        auto cert = make_alpn_challenge_cert(domain, key_authz);
        if (!cert) return cert.error();
        board_->add_alpn(domain, std::move(*cert));
        return {};
    }
    void cleanup(const std::string& domain, const std::string&, const std::string&) override {
        board_->remove_alpn(domain);
    }

private:
    std::shared_ptr<ChallengeBoard> board_;
};

std::string challenge_name(const std::string& domain) {
    // RFC 8555 §8.4: a wildcard's dns-01 record lives at the base domain.
    std::string d = domain.starts_with("*.") ? domain.substr(2) : domain;
    return "_acme-challenge." + d;
}

class Dns01Solver : public Solver {
public:
    Dns01Solver(DnsUpdateSettings s, std::optional<DnsUpdater> u, DnsUpdater::Cancelled c)
        : s_(std::move(s)), updater_(std::move(u)), cancelled_(std::move(c)) {}
    const char* type() const override { return "dns-01"; }
    Result<void> present(const std::string& domain, const std::string&,
                         const std::string& key_authz) override {
        std::string fqdn = challenge_name(domain);
        std::string value = dns01_value(key_authz);
        if (!updater_)
            return run_dns_hook(s_.hook, "add", fqdn, value, s_.propagation_timeout, cancelled_);
        MOAT_TRY(updater_->add_txt(fqdn, value));
        return updater_->wait_for_txt(fqdn, value);
    }
    void cleanup(const std::string& domain, const std::string&,
                 const std::string& key_authz) override {
        std::string fqdn = challenge_name(domain);
        std::string value = dns01_value(key_authz);
        Result<void> r;
        if (updater_) {
            r = updater_->remove_txt(fqdn, value);
        } else if (cancelled_ && cancelled_()) {
            // Stopping: the removal still gets a short run of its own rather than none (a
            // stale TXT record is harmless, but the user's zone should not collect them).
            r = run_dns_hook(s_.hook, "remove", fqdn, value,
                             std::min<std::chrono::milliseconds>(s_.propagation_timeout, kGrace));
        } else {
            r = run_dns_hook(s_.hook, "remove", fqdn, value, s_.propagation_timeout, cancelled_);
        }
        if (!r)
            core::logger("acme")->warn("dns-01 cleanup failed name={} err={}", fqdn,
                                       r.error().detail);
    }

private:
    static constexpr std::chrono::seconds kGrace{5};
    DnsUpdateSettings s_;
    std::optional<DnsUpdater> updater_;
    DnsUpdater::Cancelled cancelled_;
};

// The hook's combined stdout and stderr, of which the first kKeep bytes go into the error.
class HookOutput {
public:
    // Waits up to `wait_ms` for data; false once the pipe is closed or failed.
    bool read_from(int fd, int wait_ms) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, wait_ms) <= 0) return true;
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) {
                text_.append(buf, std::min<std::size_t>(n, kKeep - std::min(kKeep, text_.size())));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            return n < 0 && errno == EAGAIN;  // drained for now; else EOF or an error
        }
    }
    // ": <output>" with line breaks folded, or "" when the hook said nothing.
    std::string suffix() const {
        std::string t;
        for (char c : text_) t += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
        while (!t.empty() && t.back() == ' ') t.pop_back();
        return t.empty() ? "" : ": " + t;
    }

private:
    static constexpr std::size_t kKeep = 1024;
    std::string text_;
};

std::string millis(std::chrono::milliseconds d) {
    auto ms = d.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

struct Fd {
    explicit Fd(int f) : fd(f) {}
    ~Fd() { ::close(fd); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int fd;
};

struct SpawnSetup {
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
};

}  // namespace

std::unique_ptr<Solver> make_http01_solver(std::shared_ptr<ChallengeBoard> board) {
    return std::make_unique<Http01Solver>(std::move(board));
}

std::unique_ptr<Solver> make_tls_alpn01_solver(std::shared_ptr<ChallengeBoard> board) {
    return std::make_unique<TlsAlpn01Solver>(std::move(board));
}

Result<std::unique_ptr<Solver>> make_dns01_solver(const DnsUpdateSettings& dns,
                                                  DnsUpdater::Sleep sleep,
                                                  DnsUpdater::Cancelled cancelled) {
    if (dns.server.empty()) {
        if (dns.hook.empty())
            return make_error(Errc::kInvalidArgument,
                              "dns-01 needs acme.dns.server or acme.dns.hook");
        return std::unique_ptr<Solver>(
            std::make_unique<Dns01Solver>(dns, std::nullopt, std::move(cancelled)));
    }
    auto u = DnsUpdater::create(dns, std::move(sleep), cancelled);
    if (!u) return u.error();
    return std::unique_ptr<Solver>(
        std::make_unique<Dns01Solver>(dns, std::move(*u), std::move(cancelled)));
}

Result<void> run_dns_hook(const std::string& hook, const char* action, const std::string& fqdn,
                          const std::string& value, std::chrono::milliseconds limit,
                          const DnsUpdater::Cancelled& cancelled) {
    const std::string what = "dns hook " + hook + " " + action + " " + fqdn;
    // Without a shell: the TXT value and the name reach the program as they are, whatever they
    // contain.
    std::vector<std::string> args{hook, action, fqdn, value};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return make_error(Errc::kIo, what + ": pipe: " + std::strerror(errno));
    SpawnSetup setup;
    // stdin from /dev/null, stdout and stderr into the pipe; dup2 clears O_CLOEXEC on 1 and 2.
    posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&setup.actions, out[1], 2);
    // A process group of its own, so a timeout kills what the hook started too (a `sleep`
    // in a script would otherwise outlive it and hold the pipe open).
    // Default signal handling too: moat ignores SIGPIPE and its threads block signals, and
    // both would otherwise pass through exec to the hook and what it runs.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(
        &setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&setup.attr, 0);
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &all);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, hook.c_str(), &setup.actions, &setup.attr, argv.data(), environ);
    ::close(out[1]);
    Fd reader(out[0]);
    ::fcntl(reader.fd, F_SETFL, O_NONBLOCK);  // our end only: the hook's writes may block
    if (rc != 0) return make_error(Errc::kUnavailable, what + ": " + std::strerror(rc));

    HookOutput output;
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    bool open = true;
    for (;;) {
        pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0) return make_error(Errc::kIo, what + ": waitpid: " + std::strerror(errno));
        auto now = std::chrono::steady_clock::now();
        bool stopping = cancelled && cancelled();
        if (now >= deadline || stopping) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            if (stopping)
                return make_error(Errc::kUnavailable,
                                  what + ": killed, moat is stopping" + output.suffix());
            return make_error(Errc::kUnavailable, what + ": timed out after " + millis(limit) +
                                                      ", killed" + output.suffix());
        }
        // Read while waiting: a hook writing more than a pipe holds must not block on us.
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
        int wait_ms = static_cast<int>(std::min<long>(left.count(), 50));
        if (open) {
            open = output.read_from(reader.fd, wait_ms);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        }
    }
    // What is left in the pipe; children the hook left running may keep it open, so no wait.
    if (open) output.read_from(reader.fd, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    std::string how = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status));
    return make_error(Errc::kUnavailable, what + " failed (" + how + ")" + output.suffix());
}

}  // namespace moat::acme

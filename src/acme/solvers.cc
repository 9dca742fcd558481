#include "acme/solvers.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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
    Dns01Solver(DnsUpdateSettings s, std::optional<DnsUpdater> u)
        : s_(std::move(s)), updater_(std::move(u)) {}
    const char* type() const override { return "dns-01"; }
    Result<void> present(const std::string& domain, const std::string&,
                         const std::string& key_authz) override {
        std::string fqdn = challenge_name(domain);
        std::string value = dns01_value(key_authz);
        if (!updater_) return run_dns_hook(s_.hook, "add", fqdn, value);
        MOAT_TRY(updater_->add_txt(fqdn, value));
        return updater_->wait_for_txt(fqdn, value);
    }
    void cleanup(const std::string& domain, const std::string&,
                 const std::string& key_authz) override {
        std::string fqdn = challenge_name(domain);
        std::string value = dns01_value(key_authz);
        Result<void> r = updater_ ? updater_->remove_txt(fqdn, value)
                                  : run_dns_hook(s_.hook, "remove", fqdn, value);
        if (!r)
            core::logger("acme")->warn("dns-01 cleanup failed name={} err={}", fqdn,
                                       r.error().detail);
    }

private:
    DnsUpdateSettings s_;
    std::optional<DnsUpdater> updater_;
};

}  // namespace

std::unique_ptr<Solver> make_http01_solver(std::shared_ptr<ChallengeBoard> board) {
    return std::make_unique<Http01Solver>(std::move(board));
}

std::unique_ptr<Solver> make_tls_alpn01_solver(std::shared_ptr<ChallengeBoard> board) {
    return std::make_unique<TlsAlpn01Solver>(std::move(board));
}

Result<std::unique_ptr<Solver>> make_dns01_solver(const DnsUpdateSettings& dns,
                                                  DnsUpdater::Sleep sleep) {
    if (dns.server.empty()) {
        if (dns.hook.empty())
            return make_error(Errc::kInvalidArgument,
                              "dns-01 needs acme.dns.server or acme.dns.hook");
        return std::unique_ptr<Solver>(std::make_unique<Dns01Solver>(dns, std::nullopt));
    }
    auto u = DnsUpdater::create(dns, std::move(sleep));
    if (!u) return u.error();
    return std::unique_ptr<Solver>(std::make_unique<Dns01Solver>(dns, std::move(*u)));
}

Result<void> run_dns_hook(const std::string& hook, const char* action, const std::string& fqdn,
                          const std::string& value) {
    std::vector<std::string> args{hook, action, fqdn, value};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, hook.c_str(), nullptr, nullptr, argv.data(), environ);
    if (rc != 0)
        return make_error(Errc::kUnavailable, "dns hook " + hook + ": " + std::strerror(rc));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    for (;;) {
        pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0) return make_error(Errc::kIo, "dns hook: waitpid failed");
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return make_error(Errc::kUnavailable, "dns hook " + hook + " timed out after 60s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    return make_error(Errc::kUnavailable,
                      "dns hook " + hook + " " + action + " " + fqdn + " failed (status " +
                          std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
}

}  // namespace moat::acme

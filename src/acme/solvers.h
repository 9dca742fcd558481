#pragma once
// Challenge solvers: each makes one challenge type answerable (RFC 8555 §8) and cleans up.
// Run on the Manager's thread; may block (DNS updates, the hook command).

#include <chrono>
#include <memory>
#include <string>

#include "acme/challenge_board.h"
#include "acme/dns_update.h"
#include "acme/settings.h"
#include "core/result.h"

namespace moat::acme {

class Solver {
public:
    virtual ~Solver() = default;
    virtual const char* type() const = 0;  // "http-01", "tls-alpn-01", "dns-01"
    // Makes the challenge answerable; for dns-01 also waits until the authoritative server
    // answers it, so the CA is only asked to validate what it can see.
    virtual Result<void> present(const std::string& domain, const std::string& token,
                                 const std::string& key_authz) = 0;
    // Best effort: failures are logged, never fatal.
    virtual void cleanup(const std::string& domain, const std::string& token,
                         const std::string& key_authz) = 0;
};

// http-01 (§8.3) through the ChallengeBoard's edge handler on the HTTP port.
std::unique_ptr<Solver> make_http01_solver(std::shared_ptr<ChallengeBoard> board);
// tls-alpn-01 (RFC 8737) through the ChallengeBoard's ALPN provider on the HTTPS port.
std::unique_ptr<Solver> make_tls_alpn01_solver(std::shared_ptr<ChallengeBoard> board);
// dns-01 (§8.4) by RFC 2136 update when dns.server is set, else by dns.hook.
// Errors: as DnsUpdater::create.
// `sleep` and `cancelled` are the manager's: a shutdown ends propagation waits and kills a
// running hook at once instead of waiting out propagation_timeout.
Result<std::unique_ptr<Solver>> make_dns01_solver(const DnsUpdateSettings& dns,
                                                  DnsUpdater::Sleep sleep = {},
                                                  DnsUpdater::Cancelled cancelled = {});

// Runs `hook add|remove <fqdn> <value>` (no shell) in a process group of its own, stdin from
// /dev/null. Blocks until it exits, at most `limit` (the solver passes propagation_timeout:
// the hook publishes and waits for its DNS to answer); then the whole group is killed.
// kUnavailable on a failed start, a non-zero exit, a signal or the timeout; the detail names
// the hook, action and name, and ends with the start of the hook's stdout+stderr. When
// `cancelled` turns true (moat is stopping) the group is killed within about 50 ms.
Result<void> run_dns_hook(const std::string& hook, const char* action, const std::string& fqdn,
                          const std::string& value,
                          std::chrono::milliseconds limit = std::chrono::seconds(60),
                          const DnsUpdater::Cancelled& cancelled = {});

}  // namespace moat::acme

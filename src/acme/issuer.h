#pragma once
// One certificate order from start to finish (RFC 8555 §7.4): newOrder, each authorization
// (skipping those already valid, §7.5), the chosen challenge presented / answered / polled /
// cleaned up, finalize with a fresh key's CSR, poll, download, and a check that the chain
// received is for that key and covers every name. The order's state machine is driven by the
// CA's answers only; anything unexpected is an error, not a hang: every poll has a deadline.
//
// Blocking; runs on the Manager's thread. Never logs or returns key material.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "acme/acme_client.h"
#include "acme/solvers.h"
#include "core/result.h"

namespace moat::acme {

struct Issued {
    std::string chain_pem;  // leaf first, then intermediates, as the CA sent them
    std::string key_pem;    // PKCS#8; goes to a 0600 file, nowhere else
};

struct IssuerOptions {
    std::chrono::seconds poll_timeout{120};  // per authorization and for the order
    std::chrono::milliseconds poll_min{1000}, poll_max{10'000};  // Retry-After clamped to this
    std::function<void(std::chrono::milliseconds)> sleep;        // tests: record, don't sleep
    std::function<bool()> cancelled;  // checked between polls: shutdown ends an order early
    bool rsa = false;                 // RSA-2048 key instead of ECDSA P-256
};

class Issuer {
public:
    // `solvers` in preference order; per authorization the first whose type the CA offers is
    // used (a wildcard only with dns-01). The client must have its account set.
    Issuer(AcmeClient& client, const AccountKey& key, std::vector<Solver*> solvers,
           IssuerOptions opts);

    // Errors keep the CA's problem text and the Reason of the failing step (kChallenge for a
    // failed validation, kRateLimited with retry_after() set, ...).
    Result<Issued> issue(const std::vector<std::string>& names, const std::string& replaces);

private:
    Result<void> authorize(const std::string& authz_url);
    Result<Order> poll_order(const std::string& url, std::initializer_list<const char*> until);
    Result<void> pause();

    AcmeClient& client_;
    const AccountKey& key_;
    std::vector<Solver*> solvers_;
    IssuerOptions opts_;
};

}  // namespace moat::acme

#pragma once
// Private to audit/: name resolution with a deadline. getaddrinfo has none of its own (it
// waits as long as resolv.conf's timeouts and attempts say, per server), so `moat audit` of a
// name whose DNS never answers would hang past its timeout; here the lookup runs on a helper
// thread and the caller waits at most the timeout for it.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "audit/internal/conn.h"
#include "core/result.h"

namespace moat::audit::internal {

// A blocking lookup of host/port for `family` (AF_UNSPEC, AF_INET, AF_INET6). kNotFound when
// nothing resolves.
using Lookup =
    std::function<Result<std::vector<Endpoint>>(const std::string& host, int port, int family)>;

// getaddrinfo for `host` (a name or an IP literal, brackets allowed) and `port`; no deadline.
Result<std::vector<Endpoint>> lookup_blocking(const std::string& host, int port, int family);

// `lookup` (empty: lookup_blocking) on a helper thread, waited for at most `timeout`; then
// kUnavailable "name resolution of HOST timed out after 5s". The helper cannot be cancelled
// (getaddrinfo has no cancel): it finishes on its own, detached, and its answer is dropped;
// it shares only reference-counted state with the caller, so it may outlive the call.
// IP literals need no DNS and are answered on the calling thread.
Result<std::vector<Endpoint>> resolve(const std::string& host, int port,
                                      std::chrono::milliseconds timeout, int family = AF_UNSPEC,
                                      const Lookup& lookup = {});

}  // namespace moat::audit::internal

#pragma once
// OpenSSL client probes of one HTTPS endpoint: which protocol versions it accepts, its cipher
// suites per version in the order it picks them, key-exchange groups, the certificate chain,
// renegotiation, resumption and ALPN. Synchronous and single-threaded; every handshake has a
// deadline (`timeout`), so a silent or garbage-speaking server costs seconds, never a hang.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "audit/internal/conn.h"
#include "audit/tls_facts.h"
#include "core/result.h"

namespace moat::audit {

struct ProbeTarget {
    std::string host;  // SNI and name to match (no SNI for an IP literal, RFC 6066 §3)
    int port = 443;
    internal::Endpoint endpoint;  // where to connect
    std::string ca_file;          // extra trust anchors (and intermediates), PEM; may be empty
    std::chrono::milliseconds timeout{5000};  // per connection + handshake
    // No probe starts after this and none runs past it: a server that answers the first
    // handshake and then stalls costs this budget at most, not a timeout per probe.
    internal::Deadline budget = internal::Deadline::max();

    // The deadline of one connection started now.
    internal::Deadline deadline() const {
        auto d = internal::Clock::now() + timeout;
        return d < budget ? d : budget;
    }
};

struct ProtocolResult {
    std::string protocol;  // "TLSv1" ...
    bool offered = false;
    std::string refusal;               // why the handshake failed when not offered
    std::vector<SuiteInfo> suites;     // in the order the server chose them
    std::optional<bool> server_order;  // true: the server's preference decides (>= 2 suites)
};

struct TlsProbeResult {
    TlsFacts facts;                         // what tls_grade needs
    std::vector<ProtocolResult> protocols;  // TLSv1 .. TLSv1.3
    std::vector<std::string> groups;        // key-exchange groups accepted
    std::string alpn;                       // selected for "h2,http/1.1" ("" = none)
    std::optional<bool> resumption;         // session resumed on a second connection
    std::string resumption_kind;            // "ticket" / "session id"
    std::vector<std::string> chain;         // subjects the server sent, leaf first
    std::vector<std::string> notes;         // what was not probed and why
};

// Probes the target. An error only when not one handshake succeeds: nothing listening,
// timeout, not TLS, or every protocol refused (detail says which).
Result<TlsProbeResult> probe_tls(const ProbeTarget& target);

}  // namespace moat::audit

#pragma once
// dns-01 records through RFC 2136 dynamic updates signed with TSIG (RFC 8945), using ldns.
// Adds and deletes single TXT records (class NONE delete of one RR, RFC 2136 §2.5.4), never
// the whole RRset: other challenges for the same name (apex + wildcard, another moat node)
// stay untouched. Updates go over TCP to the configured primary; the TSIG on the answer is
// verified by ldns.
//
// Blocking (network round trips with a 5 s timeout each); not thread-safe; the Manager's
// thread owns it. The TSIG secret is never part of an error message.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acme/settings.h"
#include "core/result.h"

namespace moat::acme {

// The wire format of one UPDATE message (tests look at it; DnsUpdater sends it).
// add: "<fqdn> <ttl> IN TXT <value>"; remove: the same RR with class NONE and TTL 0.
// Signed with TSIG when key_name is not empty. Errors: kInvalidArgument for a bad name,
// value, algorithm or secret.
struct UpdateSpec {
    std::string zone;
    std::string fqdn;
    std::string value;
    bool add = true;
    std::uint32_t ttl = 60;
    std::string key_name, algorithm, secret;
    std::uint16_t id = 0;  // 0: random
};
Result<std::string> build_update_packet(const UpdateSpec& spec);

class DnsUpdater {
public:
    using Sleep = std::function<void(std::chrono::milliseconds)>;
    using Cancelled = std::function<bool()>;  // true once moat is stopping
    // Errors: kInvalidArgument when server is not "host:port" / "host", the algorithm is not
    // one of hmac-sha256/384/512, or the secret is not base64. `cancelled` ends wait_for_txt
    // early (kUnavailable), so a shutdown does not wait out the propagation timeout.
    static Result<DnsUpdater> create(const DnsUpdateSettings& s, Sleep sleep = {},
                                     Cancelled cancelled = {});

    // The zone that holds `fqdn`: settings.zone, or the owner of the SOA the server returns
    // for an SOA query of `fqdn` (answer or authority section).
    Result<std::string> zone_for(const std::string& fqdn);
    // Errors: kDenied when the server answers NOTAUTH or REFUSED (key or ACL), kUnavailable
    // for no answer, a bad TSIG on the answer or another rcode.
    Result<void> add_txt(const std::string& fqdn, const std::string& value);
    Result<void> remove_txt(const std::string& fqdn, const std::string& value);
    // Queries every authoritative server of the zone (the configured one, and each NS of the
    // zone at the addresses the primary or the system resolver gives) until each answers
    // `value` among the TXT records of `fqdn`, or the propagation timeout passes
    // (kUnavailable, naming the servers that did not).
    Result<void> wait_for_txt(const std::string& fqdn, const std::string& value);
    // The servers wait_for_txt asks: (address, port), the configured server first.
    std::vector<std::pair<std::string, std::uint16_t>> authoritative_servers(
        const std::string& fqdn);

private:
    DnsUpdater() = default;
    Result<void> update(const std::string& fqdn, const std::string& value, bool add);
    Result<bool> has_txt(const std::string& host, std::uint16_t port, const std::string& fqdn,
                         const std::string& value);

    DnsUpdateSettings s_;
    std::string host_;  // IP literal
    std::uint16_t port_ = 53;
    Sleep sleep_;
    Cancelled cancelled_;
};

// Parses "host:port", "[v6]:port" or "host" (port 53). kInvalidArgument otherwise.
Result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view s);

}  // namespace moat::acme

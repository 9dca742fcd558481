#pragma once
// Settings of the acme part: a plain struct filled by config/ (STYLE.md §2), no logic.

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace moat::acme {

enum class ChallengeType { kAuto, kHttp01, kTlsAlpn01, kDns01 };

// dns-01 through RFC 2136 dynamic updates signed with TSIG (RFC 8945), or through a hook.
struct DnsUpdateSettings {
    std::string server;  // "host:port" of the zone's primary (port 53 when omitted); empty: none
    std::string zone;    // zone apex, e.g. "example.com"; empty: found with an SOA query
    std::string tsig_name;
    std::string tsig_algorithm = "hmac-sha256";  // hmac-sha256 | hmac-sha384 | hmac-sha512
    std::string tsig_secret;                     // base64; never logged
    // A command run as `hook add|remove <fqdn> <txt value>` instead of an RFC 2136 update
    // (exit 0 = done). Used when server is empty.
    std::string hook;
    std::chrono::seconds propagation_timeout{60};
    bool configured() const { return !server.empty() || !hook.empty(); }
};

struct AcmeSettings {
    bool enabled = false;  // true when any site has tls = "acme"
    std::string directory_url = "https://acme-v02.api.letsencrypt.org/directory";
    std::vector<std::string> contact;  // "mailto:..." URLs
    std::string ca_bundle;             // PEM file to trust for the CA (tests); empty: system
    std::string eab_kid;               // External Account Binding (RFC 8555 §7.3.4)
    std::string eab_hmac_key;          // base64url; never logged
    ChallengeType challenge = ChallengeType::kAuto;  // auto: dns-01 when dns is configured
    double renew_before_fraction = 0;  // 0: a third of the lifetime (half for <= 10 days)
    bool rsa_extra = false;  // also an RSA-2048 certificate, served to clients without ECDSA
    std::string state_dir;   // <data_dir>/acme: account, certificates, lock
    DnsUpdateSettings dns;
    // Extra names per canonical host (mail: "mta-sts.<domain>"), added to that host's order.
    std::map<std::string, std::vector<std::string>> extra_names;
    // Test knob: CURLOPT_RESOLVE entries for the CA ("host:port:addr").
    std::vector<std::string> resolve;
};

}  // namespace moat::acme

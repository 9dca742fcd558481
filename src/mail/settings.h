#pragma once
// Settings of the mail part: a plain struct filled by config/ (STYLE.md §2), no logic.
// One MailDomain per [mail."<domain>"] table: moat hosts its MTA-STS policy at
// https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 §3.2).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace moat::mail {

// RFC 8461 §5: enforce refuses delivery on failures, testing only reports, none withdraws.
enum class StsMode { kEnforce, kTesting, kNone };

struct MailDomain {
    std::string domain;  // the policy domain, lower-case A-labels, no trailing dot
    StsMode mode = StsMode::kTesting;
    std::vector<std::string> mx;    // "mail.example.com" or "*.example.net", lower-case
    std::int64_t max_age = 604800;  // seconds, 0..31557600 (RFC 8461 §3.2)
    // TLS-RPT rua URIs for the _smtp._tls record (RFC 8460 §3): "mailto:..." or "https://...".
    std::vector<std::string> tlsrpt_rua;
};

struct MailSettings {
    std::vector<MailDomain> domains;
    std::string state_dir;   // <data_dir>/mail: the persisted policy ids
    std::string tlsrpt_dir;  // <data_dir>/tlsrpt: received reports, one folder per domain
    // Where the TLS-RPT receiver (RFC 8460 §5.3 HTTPS POST) listens; empty: off.
    std::vector<std::string> tlsrpt_listen;
    std::uint64_t tlsrpt_max_body = 1 << 20;          // compressed or plain bytes on the wire
    std::uint64_t tlsrpt_max_inflated = 10ull << 20;  // after gunzip (RFC 8460 §5.3: ~10 MB)
};

}  // namespace moat::mail

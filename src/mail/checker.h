#pragma once
// `moat check mail <domain>`: the checklist of reference mail.md §7 run from outside, as a
// sending MTA would see the domain: the _mta-sts record (S1-S5), the policy host over HTTPS
// (H1-H8), the policy text (P1-P8), the MX hosts against the policy and over STARTTLS (M1-M4),
// TLS-RPT (R1-R3) and DANE (D1-D3). DNS through libunbound (a given forwarder, DNSSEC with a
// trust anchor), HTTPS through edge::HttpClient, STARTTLS through mail::probe_tls; every network
// step is bounded by `timeout_ms`. Blocks the calling thread for the whole run.

#include <string>

#include "core/result.h"
#include "mail/check_result.h"

namespace moat::mail {

struct CheckOptions {
    std::string domain;
    std::string resolver;      // ADDR[:PORT]; empty: /etc/resolv.conf
    std::string trust_anchor;  // DNSSEC trust anchor file; empty: no validation
    std::string ca_file;       // roots for HTTPS and STARTTLS; empty: the system store
    int smtp_port = 25;
    int https_port = 443;
    int timeout_ms = 10000;
    std::string expected_id;  // the id moat generated (M4); empty: not checked
    // A folder for M4's memory: moat's <domain>.sts (the id moat publishes) is compared with the
    // live id, and <domain>.check records the last seen (id, policy hash) to catch an id that
    // was not bumped when the policy changed. Empty: M4 is skipped.
    std::string state_dir;
};

struct CheckReport {
    std::string domain;
    CheckResults results;
    Status worst = Status::kPass;
};

// Errors only for unusable options (bad resolver address, unreadable trust anchor); every
// finding about the domain is a result.
Result<CheckReport> check_mail(const CheckOptions& options);

}  // namespace moat::mail

#pragma once
// Shared state of one `check mail` run, passed between the checklist stages (checker.cc for
// DNS/HTTPS/policy, checker_mx.cc for MX, checker_tlsrpt.cc for TLS-RPT, checker_dane.cc for
// DANE). Private to the mail part.

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "mail/checker.h"
#include "mail/policy_parser.h"
#include "mail/resolver.h"
#include "mail/tls_probe.h"

namespace moat::mail::internal {

struct MxHost {
    int preference = 0;
    std::string host;
    std::vector<std::string> addresses;
    std::vector<TlsProbeResult> probes;  // one per address, SNI = host
};

struct CheckContext {
    CheckContext(const CheckOptions& opts, Resolver& r, CheckResults& results)
        : o(opts), dns(r), out(results) {}

    const CheckOptions& o;
    Resolver& dns;
    CheckResults& out;

    bool sts_record = false;  // exactly one valid v=STSv1 record
    std::string live_id;
    std::optional<ParsedPolicy> policy;  // fetched and parsed
    std::string policy_body;
    std::string mode;  // of a valid policy, else ""
    bool dane = false;
    std::vector<MxHost> mx;

    std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(o.timeout_ms); }
    void add(const char* id, Status s, std::string msg, const char* rfc) {
        out.push_back({id, s, std::move(msg), rfc});
    }
    void add_all(const CheckResults& rs) { out.insert(out.end(), rs.begin(), rs.end()); }
    // FAIL when the policy enforces, WARN when it only tests or there is none.
    Status enforce_fail() const { return mode == "enforce" ? Status::kFail : Status::kWarn; }
};

// TXT records at `name`, each record's strings joined (RFC 8461 §3.1), plus the answer.
DnsAnswer txt_records(Resolver& dns, const std::string& name, std::vector<std::string>& out,
                      bool* split = nullptr);
// A and AAAA of `host`, as text, A first.
std::vector<std::string> addresses_of(Resolver& dns, const std::string& host,
                                      DnsAnswer* a = nullptr, DnsAnswer* aaaa = nullptr);

void check_sts_dns(CheckContext& c);      // S1-S5
void check_policy_host(CheckContext& c);  // H1-H8, P1-P8
void check_mx(CheckContext& c);           // M1-M4
void check_tlsrpt(CheckContext& c);       // R1-R3
void check_dane(CheckContext& c);         // D1-D3

}  // namespace moat::mail::internal

// check_mail() stage M1-M4: MX records against the policy, every MX over STARTTLS, id
// tracking. TLS-RPT is in checker_tlsrpt.cc, DANE in checker_dane.cc.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "mail/grammar.h"
#include "mail/internal/check_context.h"
#include "mail/policy_id.h"

namespace moat::mail::internal {
namespace {

constexpr const char* k41 = "RFC 8461 §4.1";

void check_mx_records(CheckContext& c) {
    const std::string& d = c.o.domain;
    DnsAnswer a = c.dns.query(d, RrType::kMx);
    if (!a.ok() && !a.absent()) {
        c.add("M1", Status::kFail, fmt::format("MX lookup for {} failed: {}", d, a.describe()),
              k41);
        return;
    }
    for (const auto& rd : a.rdata) {
        MxRecord mx;
        if (!decode_mx(rd, mx)) continue;
        if (mx.host.empty()) {
            c.add("M1", Status::kInfo,
                  fmt::format("{} publishes a null MX (\"0 .\"): it accepts no mail, MTA-STS is "
                              "irrelevant",
                              d),
                  "RFC 7505");
            c.mx.clear();
            return;
        }
        c.mx.push_back({mx.preference, mx.host, {}, {}});
    }
    std::sort(c.mx.begin(), c.mx.end(),
              [](const MxHost& x, const MxHost& y) { return x.preference < y.preference; });
    if (c.mx.empty()) {
        c.add("M1", Status::kInfo,
              fmt::format("{} has no MX record: senders use {} itself (implicit MX)", d, d), k41);
        c.mx.push_back({0, d, {}, {}});
    } else {
        std::string list;
        for (const auto& m : c.mx)
            list += fmt::format("{}{} {}", list.empty() ? "" : ", ", m.preference, m.host);
        c.add("M1", Status::kPass, fmt::format("MX of {}: {}", d, list), k41);
    }
}

void check_mx_patterns(CheckContext& c) {
    if (!c.policy || !c.policy->valid || c.mode == "none" || c.mx.empty()) return;
    const auto& pats = c.policy->mx;
    for (const auto& m : c.mx) {
        bool hit = std::any_of(pats.begin(), pats.end(), [&](const std::string& p) {
            return grammar::mx_matches(p, m.host);
        });
        if (hit) {
            c.add("M2", Status::kPass, fmt::format("MX {} matches the policy", m.host), k41);
        } else {
            c.add("M2", c.enforce_fail(),
                  fmt::format("MX {} matches no mx pattern of the policy ({}): senders {} it",
                              m.host, fmt::join(pats, ", "),
                              c.mode == "enforce" ? "refuse to deliver to" : "report"),
                  k41);
        }
    }
    for (const auto& p : pats) {
        bool used = std::any_of(c.mx.begin(), c.mx.end(),
                                [&](const MxHost& m) { return grammar::mx_matches(p, m.host); });
        if (!used)
            c.add("M2", Status::kWarn,
                  fmt::format("the pattern \"{}\" matches no MX record (stale?)", p), k41);
        if (grammar::to_lower(p) == "*." + c.o.domain)
            c.add("M2", Status::kWarn,
                  fmt::format("\"{}\" lets any host with a certificate under {} receive mail", p,
                              c.o.domain),
                  "RFC 8461 §10.4");
    }
}

void check_mx_tls(CheckContext& c) {
    for (auto& m : c.mx) {
        m.addresses = addresses_of(c.dns, m.host);
        if (m.addresses.empty()) {
            c.add("M3", Status::kFail, fmt::format("MX {} has no A or AAAA record", m.host),
                  "RFC 5321 §5.1");
            continue;
        }
        for (const auto& ip : m.addresses) {
            TlsProbeOptions po;
            po.address = ip;
            po.port = static_cast<std::uint16_t>(c.o.smtp_port);
            po.name = m.host;
            po.starttls = true;
            po.ca_file = c.o.ca_file;
            po.timeout = c.timeout();
            TlsProbeResult t = probe_tls(po);
            m.probes.push_back(t);
            std::string where = fmt::format("MX {} ({}:{})", m.host, ip, c.o.smtp_port);
            if (!t.connected) {
                c.add("M3", Status::kWarn,
                      fmt::format("{}: not testable from here: {}", where, t.error),
                      "RFC 8461 §4.2");
                continue;
            }
            if (!t.starttls_offered) {
                c.add("M3", c.mode.empty() ? Status::kWarn : c.enforce_fail(),
                      fmt::format("{}: {}{}", where, t.error.empty() ? "no STARTTLS" : t.error,
                                  t.banner.empty() ? "" : " (banner \"" + t.banner + "\")"),
                      "RFC 8461 §4.2, RFC 3207");
                continue;
            }
            if (!t.handshake) {
                c.add("M3", c.mode.empty() ? Status::kWarn : c.enforce_fail(),
                      fmt::format("{}: {}", where, t.error), "RFC 8461 §7.2");
                continue;
            }
            // Without MTA-STS (or DANE) senders do not authenticate the MX, so certificate
            // problems only matter once a policy is in force.
            Status cert_bad = c.mode.empty() || c.mode == "none" ? Status::kWarn : c.enforce_fail();
            bool ok = true;
            if (!t.chain_ok) {
                c.add("M3", cert_bad,
                      fmt::format("{}: certificate not trusted: {} (certificate-not-trusted)",
                                  where, t.verify_error),
                      "RFC 8461 §4.2");
                ok = false;
            }
            if (t.expired) {
                c.add("M3", cert_bad,
                      fmt::format("{}: certificate expired (certificate-expired)", where),
                      "RFC 8461 §4.2");
                ok = false;
            }
            if (!t.name_ok) {
                c.add("M3", cert_bad,
                      fmt::format("{}: the certificate ({}) does not name {} "
                                  "(certificate-host-mismatch)",
                                  where, t.subject, m.host),
                      "RFC 8461 §4.2");
                ok = false;
            }
            if (ok)
                c.add("M3", Status::kPass,
                      fmt::format("{}: STARTTLS, {}, certificate valid for {} ({} days left)",
                                  where, t.version, m.host, t.days_left),
                      "RFC 8461 §4.2");
        }
    }
}

// M4: is the live id the one moat publishes, and was it bumped when the policy changed?
void check_id(CheckContext& c) {
    if (!c.sts_record) return;
    if (!c.o.expected_id.empty()) {
        if (c.live_id == c.o.expected_id) {
            c.add("M4", Status::kPass, "the published id is the expected one", "RFC 8461 §3.1");
        } else {
            c.add("M4", Status::kFail,
                  fmt::format("the published id {} is not the expected {}: senders keep their "
                              "cached policy",
                              c.live_id, c.o.expected_id),
                  "RFC 8461 §3.1, §8.1");
        }
    }
    if (c.o.state_dir.empty()) return;
    if (auto moat = stored_policy_id(c.o.state_dir, c.o.domain)) {
        if (moat->id != c.live_id)
            c.add("M4", Status::kFail,
                  fmt::format("moat serves the policy with id {}, DNS publishes {}: update the "
                              "_mta-sts record (`moat dns {}`)",
                              moat->id, c.live_id, c.o.domain),
                  "RFC 8461 §3.1, §8.1");
        else
            c.add("M4", Status::kPass, "the published id is the one moat generated",
                  "RFC 8461 §3.1");
    }
    if (!c.policy) return;
    std::string hash = sha256_hex(c.policy_body);
    namespace fs = std::filesystem;
    fs::path memo = fs::path(c.o.state_dir) / (c.o.domain + ".check");
    std::string old_id, old_hash;
    if (std::ifstream in(memo); in) in >> old_id >> old_hash;
    if (!old_id.empty()) {
        if (old_id == c.live_id && old_hash != hash) {
            c.add("M4", Status::kFail,
                  fmt::format("the policy changed since the last check but the id {} did not: "
                              "senders keep the old policy until max_age runs out",
                              c.live_id),
                  "RFC 8461 §3.1, §8.1");
            return;  // keep the old memory so the failure repeats until the id is bumped
        }
        if (old_id != c.live_id && old_hash == hash)
            c.add("M4", Status::kInfo, "the id changed but the policy did not", "RFC 8461 §3.1");
    }
    std::error_code ec;
    fs::create_directories(c.o.state_dir, ec);
    std::ofstream(memo) << c.live_id << " " << hash << "\n";
}

}  // namespace

void check_mx(CheckContext& c) {
    check_mx_records(c);
    check_mx_patterns(c);
    check_mx_tls(c);
    check_id(c);
}

}  // namespace moat::mail::internal

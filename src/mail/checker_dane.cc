// check_mail() stage D1-D3: DANE for SMTP (RFC 7672), reported, not enforced. TLSA records are
// looked up where a DANE sender looks: behind a DNSSEC-secure CNAME at the expanded name first,
// then at the MX name (RFC 7671 §7, RFC 7672 §2.2.2); each result names the owner it used.
#include <algorithm>

#include "mail/dane.h"
#include "mail/internal/check_context.h"

namespace moat::mail::internal {
namespace {

constexpr const char* k7672 = "RFC 7672 §3";
constexpr const char* kAlias = "RFC 7671 §7, RFC 7672 §2.2.2";

// The address answer that tells whether `host` is an alias and whether its chain is secure:
// A, or AAAA for an IPv6-only host.
DnsAnswer address_answer(Resolver& dns, const std::string& host) {
    DnsAnswer a = dns.query(host, RrType::kA);
    if (a.ok()) return a;
    DnsAnswer aaaa = dns.query(host, RrType::kAaaa);
    return aaaa.ok() ? aaaa : a;
}

// The STARTTLS chains a DANE sender sees: the M3 probes (SNI = the MX name) unless the TLSA
// base is the CNAME target, whose name is then the SNI (RFC 7672 §8.1).
std::vector<TlsProbeResult> dane_probes(const CheckContext& c, const MxHost& m, const TlsaBase& b) {
    if (!b.at_target()) return m.probes;
    std::vector<TlsProbeResult> out;
    for (const auto& ip : m.addresses) {
        TlsProbeOptions po;
        po.address = ip;
        po.port = static_cast<std::uint16_t>(c.o.smtp_port);
        po.name = b.base;
        po.starttls = true;
        po.ca_file = c.o.ca_file;
        po.timeout = c.timeout();
        out.push_back(probe_tls(po));
    }
    return out;
}

// The usable records of `b`'s answer; the others are reported.
std::vector<TlsaRecord> usable_records(CheckContext& c, const std::string& label,
                                       const TlsaBase& b) {
    std::vector<TlsaRecord> recs;
    for (const auto& rd : b.tlsa.rdata) {
        TlsaRecord t;
        if (!decode_tlsa(rd, t)) continue;
        std::string what = fmt::format("TLSA {} {} {}", t.usage, t.selector, t.mtype);
        if (t.usage == 0 || t.usage == 1) {
            c.add("D2", Status::kWarn,
                  fmt::format("{}: {}: PKIX usages are unusable for SMTP", label, what), k7672);
            continue;
        }
        std::size_t want = t.mtype == 1 ? 32 : t.mtype == 2 ? 64 : 0;
        if (t.usage > 3 || t.selector > 1 || t.mtype > 2 || (want && t.data.size() != want)) {
            c.add("D2", Status::kFail,
                  fmt::format("{}: {}: unknown parameters or a digest of the wrong length", label,
                              what),
                  k7672);
            continue;
        }
        recs.push_back(t);
    }
    return recs;
}

void check_host(CheckContext& c, const MxHost& m) {
    TlsaBase b = find_tlsa_base(m.host, address_answer(c.dns, m.host), [&](const std::string& o) {
        return c.dns.query(o, RrType::kTlsa);
    });
    if (b.alias && !b.secure_alias)
        c.add("D2", Status::kInfo,
              fmt::format("MX {} is an alias of {} through a CNAME chain that is not "
                          "DNSSEC-validated: its target cannot be a TLSA base, only {} is asked",
                          b.original, b.target, b.owner()),
              kAlias);
    // RFC 7672 §2.2.2: SMTP TLSA records live at _25._tcp (also when probing a test port).
    std::string label = b.owner();
    if (b.at_target())
        label += fmt::format(" (the CNAME target of MX {})", b.original);
    else if (b.secure_alias)
        label += fmt::format(" (the MX name; none at its CNAME target {})", b.target);
    const DnsAnswer& a = b.tlsa;
    if (!a.ok()) {
        if (!a.absent())
            c.add("D2", Status::kWarn, fmt::format("{} TLSA lookup: {}", label, a.describe()),
                  k7672);
        return;
    }
    c.dane = true;
    if (!a.secure)
        c.add("D2", Status::kWarn,
              fmt::format("{} has TLSA records but they are not DNSSEC-validated{}: senders "
                          "ignore them",
                          label, c.dns.validating() ? "" : " (no trust anchor given)"),
              "RFC 7672 §2.2");
    std::vector<TlsaRecord> recs = usable_records(c, label, b);
    if (recs.empty()) return;
    bool has_ta = std::any_of(recs.begin(), recs.end(), [](const auto& t) { return t.usage == 2; });
    bool probed = false, name_mismatch = false;
    TlsaMatch match;
    for (const auto& p : dane_probes(c, m, b)) {
        if (!p.handshake || p.chain.empty()) continue;
        probed = true;
        TlsaMatch one = match_tlsa(recs, p.chain, b.reference_ids);
        name_mismatch = name_mismatch || one.ta_name_mismatch;
        if (one.matched) match = one;
    }
    if (!probed) {
        c.add("D2", Status::kInfo,
              fmt::format("{}: {} usable TLSA record(s); the MX could not be probed", label,
                          recs.size()),
              k7672);
    } else if (match.matched) {
        c.add("D2", Status::kPass,
              fmt::format("{}: a TLSA record matches the certificate chain ({})", label,
                          match.usage == 3 ? std::string("DANE-EE")
                                           : fmt::format("DANE-TA; the certificate names one of {}",
                                                         fmt::join(b.reference_ids, ", "))),
              k7672);
    } else if (name_mismatch) {
        c.add("D2", Status::kFail,
              fmt::format("{}: a DANE-TA record matches the chain but the certificate names "
                          "none of {} (certificate-host-mismatch)",
                          label, fmt::join(b.reference_ids, ", ")),
              "RFC 7672 §3.2.2");
    } else {
        c.add("D2", Status::kFail,
              fmt::format("{}: no TLSA record matches the certificate chain (tlsa-invalid)", label),
              k7672);
    }
    if (recs.size() == 1 && !has_ta)
        c.add(
            "D2", Status::kWarn,
            fmt::format("{}: a single DANE-EE record: publish the next key too (rollover)", label),
            "RFC 7671 §8.1");
}

}  // namespace

void check_dane(CheckContext& c) {
    if (c.dns.validating()) {
        DnsAnswer mx = c.dns.query(c.o.domain, RrType::kMx);
        c.add("D1",
              mx.secure  ? Status::kPass
              : mx.bogus ? Status::kFail
                         : Status::kInfo,
              fmt::format("MX of {}: {}", c.o.domain,
                          mx.secure  ? "DNSSEC-signed and valid"
                          : mx.bogus ? "DNSSEC validation failed: " + mx.why_bogus
                                     : "not signed (DANE needs DNSSEC)"),
              "RFC 7672 §2.2");
    } else {
        c.add("D1", Status::kInfo, "DNSSEC not checked (give --trust-anchor)", "RFC 7672 §2.2");
    }
    for (const auto& m : c.mx) check_host(c, m);
    if (c.dane && c.sts_record)
        c.add("D3", Status::kInfo,
              "both DANE and MTA-STS are published: DANE-capable senders use DANE", "RFC 8461 §2");
}

}  // namespace moat::mail::internal

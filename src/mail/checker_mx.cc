// check_mail() stages after the policy: M1-M4 (MX records against the policy, every MX over
// STARTTLS, id tracking), R1-R3 (TLS-RPT) and D1-D3 (DANE for SMTP, RFC 7672).
#include <openssl/evp.h>
#include <openssl/x509.h>

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

void check_tlsrpt(CheckContext& c) {
    constexpr const char* k3 = "RFC 8460 §3";
    std::vector<std::string> txts;
    DnsAnswer a = txt_records(c.dns, "_smtp._tls." + c.o.domain, txts);
    std::vector<std::string> rpt;
    for (const auto& t : txts)
        if (t.rfind("v=TLSRPTv1", 0) == 0) rpt.push_back(t);
    bool protected_domain = c.sts_record || c.dane;
    if (!a.ok() && !a.absent()) {
        c.add("R1", Status::kFail, fmt::format("_smtp._tls TXT lookup failed: {}", a.describe()),
              k3);
        return;
    }
    if (rpt.empty()) {
        c.add("R1", protected_domain ? Status::kWarn : Status::kInfo,
              fmt::format("no TLS-RPT record at _smtp._tls.{}{}", c.o.domain,
                          protected_domain ? ": TLS failures of senders will go unseen" : ""),
              "RFC 8460 §3, RFC 8461 §6");
        return;
    }
    if (rpt.size() > 1) {
        c.add("R1", Status::kFail,
              fmt::format("{} v=TLSRPTv1 records: senders ignore them all", rpt.size()), k3);
        return;
    }
    c.add("R1", Status::kPass, "one TLS-RPT record", k3);
    auto rec = parse_tlsrpt_record(rpt[0]);
    c.add_all(rec.results);
    for (const auto& uri : rec.rua) {
        if (uri.rfind("mailto:", 0) == 0) {
            std::string dom = grammar::to_lower(uri.substr(uri.find('@') + 1));
            if (auto q = dom.find('?'); q != std::string::npos) dom.resize(q);
            DnsAnswer mx = c.dns.query(dom, RrType::kMx);
            bool has = mx.ok() || !addresses_of(c.dns, dom).empty();
            c.add("R3", has ? Status::kPass : Status::kFail,
                  fmt::format("{}: {}", uri,
                              has ? "the domain receives mail" : "the domain has no MX or address"),
                  "RFC 8460 §3");
        } else {
            std::string host = uri.substr(8);
            host = grammar::to_lower(host.substr(0, host.find_first_of("/:?#")));
            auto ips = addresses_of(c.dns, host);
            if (ips.empty()) {
                c.add("R3", Status::kFail, fmt::format("{}: {} does not resolve", uri, host),
                      "RFC 8460 §3");
                continue;
            }
            TlsProbeOptions po;
            po.address = ips[0];
            po.port = 443;
            po.name = host;
            po.ca_file = c.o.ca_file;
            po.timeout = c.timeout();
            TlsProbeResult t = probe_tls(po);
            bool good = t.handshake && t.chain_ok && t.name_ok && !t.expired;
            c.add("R3", good ? Status::kPass : Status::kWarn,
                  good ? fmt::format("{}: HTTPS endpoint answers with a valid certificate", uri)
                       : fmt::format(
                             "{}: {} (submitters may ignore certificate errors)", uri,
                             t.handshake ? "certificate problem: " + t.verify_error : t.error),
                  "RFC 8460 §3");
        }
    }
}

namespace {

std::string digest(const std::string& data, int mtype) {
    if (mtype == 0) return data;
    const EVP_MD* md = mtype == 1 ? EVP_sha256() : EVP_sha512();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
    return std::string(reinterpret_cast<char*>(out), n);
}

// Selector 0: the whole certificate; 1: its SubjectPublicKeyInfo (RFC 6698 §2.1.2).
std::string selected(const std::string& der, int selector) {
    if (selector == 0) return der;
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (!x) return "";
    unsigned char* spki = nullptr;
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
    std::string out = n > 0 ? std::string(reinterpret_cast<char*>(spki), n) : "";
    OPENSSL_free(spki);
    X509_free(x);
    return out;
}

}  // namespace

void check_dane(CheckContext& c) {
    constexpr const char* k7672 = "RFC 7672 §3";
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
    for (const auto& m : c.mx) {
        // RFC 7672 §2.2: SMTP TLSA records live at _25._tcp (also when probing a test port).
        std::string name = "_25._tcp." + m.host;
        DnsAnswer a = c.dns.query(name, RrType::kTlsa);
        if (!a.ok()) {
            if (!a.absent())
                c.add("D2", Status::kWarn, fmt::format("{} TLSA lookup: {}", name, a.describe()),
                      k7672);
            continue;
        }
        c.dane = true;
        if (!a.secure) {
            c.add("D2", Status::kWarn,
                  fmt::format("{} has TLSA records but they are not DNSSEC-validated{}: senders "
                              "ignore them",
                              name, c.dns.validating() ? "" : " (no trust anchor given)"),
                  "RFC 7672 §2.2");
        }
        std::vector<TlsaRecord> recs;
        bool has_ta = false;
        for (const auto& rd : a.rdata) {
            TlsaRecord t;
            if (!decode_tlsa(rd, t)) continue;
            std::string what = fmt::format("TLSA {} {} {}", t.usage, t.selector, t.mtype);
            if (t.usage == 0 || t.usage == 1) {
                c.add("D2", Status::kWarn,
                      fmt::format("{}: {}: PKIX usages are unusable for SMTP", name, what), k7672);
                continue;
            }
            std::size_t want = t.mtype == 1 ? 32 : t.mtype == 2 ? 64 : 0;
            if (t.usage > 3 || t.selector > 1 || t.mtype > 2 || (want && t.data.size() != want)) {
                c.add("D2", Status::kFail,
                      fmt::format("{}: {}: unknown parameters or a digest of the wrong length",
                                  name, what),
                      k7672);
                continue;
            }
            has_ta = has_ta || t.usage == 2;
            recs.push_back(t);
        }
        if (recs.empty()) continue;
        bool matched = false, probed = false;
        for (const auto& p : m.probes) {
            if (!p.handshake || p.chain.empty()) continue;
            probed = true;
            for (const auto& t : recs) {
                for (std::size_t i = 0; i < p.chain.size(); ++i) {
                    if ((t.usage == 3) != (i == 0)) continue;  // EE: leaf only; TA: the others
                    if (digest(selected(p.chain[i], t.selector), t.mtype) == t.data) matched = true;
                }
            }
        }
        if (!probed) {
            c.add("D2", Status::kInfo,
                  fmt::format("{}: {} usable TLSA record(s); the MX could not be probed", name,
                              recs.size()),
                  k7672);
        } else if (!matched) {
            c.add("D2", Status::kFail,
                  fmt::format("{}: no TLSA record matches the certificate chain (tlsa-invalid)",
                              name),
                  k7672);
        } else {
            c.add("D2", Status::kPass,
                  fmt::format("{}: a TLSA record matches the certificate chain", name), k7672);
        }
        if (recs.size() == 1 && !has_ta)
            c.add("D2", Status::kWarn,
                  fmt::format("{}: a single DANE-EE record: publish the next key too "
                              "(rollover)",
                              name),
                  "RFC 7671 §8.1");
    }
    if (c.dane && c.sts_record)
        c.add("D3", Status::kInfo,
              "both DANE and MTA-STS are published: DANE-capable senders use DANE", "RFC 8461 §2");
}

}  // namespace moat::mail::internal

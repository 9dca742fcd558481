// check_mail() stage R1-R3: the TLS-RPT record (RFC 8460 §3) and whether its rua endpoints can
// take reports. An https: endpoint must complete a TLS 1.2+ handshake with a certificate valid
// for its host and answer an HTTP request (any status: a GET is enough to show a server is
// there, and posting a made-up report would write into someone's data); a mailto: domain must
// receive mail. As the checklist says (R3): an https host that does not resolve or answer TLS
// and HTTP, and a mailto domain without MX, FAIL (every report sent there is lost); certificate
// problems are a WARN only (RFC 8460 §5.3: submitters MAY ignore them), as is a domain that
// has only A/AAAA (RFC 5321 §5.1's implicit MX delivers, but many senders' policies do not).
// Mail itself still flows either way; the exit code says the reporting is broken.
#include <optional>

#include "edge/client.h"
#include "mail/grammar.h"
#include "mail/internal/check_context.h"

namespace moat::mail::internal {
namespace {

constexpr const char* k3 = "RFC 8460 §3";

struct HttpsTarget {
    std::string host;  // lower-case; an IPv6 literal without its brackets
    int port = 443;
};

// "https://host[:port][/path]" -> host and port; nullopt for an authority that does not parse.
std::optional<HttpsTarget> https_target(std::string_view uri) {
    std::string_view rest = uri.substr(8);  // after "https://"
    std::string_view auth = rest.substr(0, rest.find_first_of("/?#"));
    if (auto at = auth.rfind('@'); at != std::string_view::npos) auth.remove_prefix(at + 1);
    HttpsTarget t;
    std::string_view port;
    if (!auth.empty() && auth.front() == '[') {
        auto close = auth.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        t.host = std::string(auth.substr(1, close - 1));
        if (close + 1 < auth.size()) {
            if (auth[close + 1] != ':') return std::nullopt;
            port = auth.substr(close + 2);
        }
    } else {
        auto colon = auth.find(':');
        t.host = grammar::to_lower(auth.substr(0, colon));
        if (colon != std::string_view::npos) port = auth.substr(colon + 1);
    }
    if (t.host.empty()) return std::nullopt;
    if (!port.empty()) {
        int p = 0;
        for (char ch : port) {
            if (ch < '0' || ch > '9' || p > 65535) return std::nullopt;
            p = p * 10 + (ch - '0');
        }
        if (p < 1 || p > 65535) return std::nullopt;
        t.port = p;
    }
    return t;
}

bool is_ip_literal(const std::string& host) {
    return host.find(':') != std::string::npos ||
           host.find_first_not_of("0123456789.") == std::string::npos;
}

void check_https_rua(CheckContext& c, const std::string& uri) {
    auto target = https_target(uri);
    if (!target) {
        c.add("R3", Status::kFail,
              fmt::format("{}: no host[:port] a submitter could connect to: reports are lost", uri),
              k3);
        return;
    }
    const std::string& host = target->host;
    std::vector<std::string> ips =
        is_ip_literal(host) ? std::vector<std::string>{host} : addresses_of(c.dns, host);
    if (ips.empty()) {
        c.add("R3", Status::kFail,
              fmt::format("{}: {} has no A or AAAA record: reports sent there are lost", uri, host),
              k3);
        return;
    }
    std::vector<std::string> failures;
    bool only_certificates = true;  // every address answered TLS, with a certificate problem
    for (const auto& ip : ips) {
        std::string where = fmt::format("{}:{}", ip, target->port);
        TlsProbeOptions po;
        po.address = ip;
        po.port = static_cast<std::uint16_t>(target->port);
        po.name = host;
        po.ca_file = c.o.ca_file;
        po.timeout = c.timeout();
        TlsProbeResult t = probe_tls(po);
        if (!t.handshake) {
            only_certificates = false;
            failures.push_back(fmt::format("{}: {}", where, t.error));
            continue;
        }
        if (!t.chain_ok || !t.name_ok || t.expired) {
            // Submitters verify the certificate as HTTPS clients do; some ignore errors, but
            // none can be counted on to.
            failures.push_back(fmt::format("{}: the certificate is not valid for {}: {}", where,
                                           host,
                                           !t.chain_ok ? t.verify_error
                                           : t.expired ? std::string("expired")
                                                       : "it names " + t.subject));
            continue;
        }
        // The handshake alone might be a TLS terminator with nothing behind it: ask for an
        // HTTP answer through the outbound client (TLS 1.2+, verified, no redirects).
        edge::ClientOptions co;
        co.connect_timeout = c.timeout();
        co.timeout = c.timeout();
        co.max_body = 65536;
        co.ca_file = c.o.ca_file;
        co.user_agent = "moat-check";
        co.resolve.push_back(fmt::format("{}:{}:{}", host, target->port,
                                         ip.find(':') != std::string::npos ? "[" + ip + "]" : ip));
        auto r = edge::HttpClient(co).get(uri);
        if (!r && r.error().code != Errc::kTooLarge) {
            only_certificates = false;
            failures.push_back(fmt::format("{}: {} handshake, but no HTTP answer: {}", where,
                                           t.version, r.error().detail));
            continue;
        }
        c.add("R3", Status::kPass,
              fmt::format("{}: reachable at {}: {}, certificate valid for {}, GET answered {} "
                          "(reports are POSTed)",
                          uri, where, t.version, host,
                          r ? "HTTP " + std::to_string(r->status) : std::string("a large body")),
              "RFC 8460 §3, §5.3");
        return;
    }
    c.add("R3", only_certificates ? Status::kWarn : Status::kFail,
          fmt::format("{}: {}: {}", uri,
                      only_certificates ? "answers TLS, but submitters that verify the "
                                          "certificate will not send reports"
                                        : "not reachable, reports sent there are lost",
                      fmt::join(failures, "; ")),
          "RFC 8460 §3, §5.3");
}

void check_mailto_rua(CheckContext& c, const std::string& uri) {
    constexpr const char* kMail = "RFC 8460 §3, RFC 5321 §5.1";
    std::string dom = grammar::to_lower(uri.substr(uri.find('@') + 1));
    if (auto q = dom.find('?'); q != std::string::npos) dom.resize(q);
    DnsAnswer mx = c.dns.query(dom, RrType::kMx);
    if (mx.ok()) {
        std::vector<std::string> hosts;
        for (const auto& rd : mx.rdata) {
            MxRecord r;
            if (decode_mx(rd, r) && !r.host.empty()) hosts.push_back(r.host);
        }
        if (hosts.empty())
            c.add("R3", Status::kFail,
                  fmt::format("{}: {} publishes a null MX (accepts no mail): reports mailed "
                              "there are lost",
                              uri, dom),
                  "RFC 8460 §3, RFC 7505");
        else
            c.add("R3", Status::kPass,
                  fmt::format("{}: {} receives mail (MX {})", uri, dom, fmt::join(hosts, ", ")),
                  kMail);
        return;
    }
    if (!mx.absent()) {
        c.add("R3", Status::kWarn,
              fmt::format("{}: the MX lookup for {} failed: {}", uri, dom, mx.describe()), kMail);
        return;
    }
    auto ips = addresses_of(c.dns, dom);
    if (ips.empty())
        c.add("R3", Status::kFail,
              fmt::format("{}: {} has no MX and no A or AAAA record: reports mailed there are "
                          "lost",
                          uri, dom),
              kMail);
    else
        c.add("R3", Status::kWarn,
              fmt::format("{}: {} has no MX, only an address ({}): delivery relies on the "
                          "implicit MX; publish an MX",
                          uri, dom, ips[0]),
              kMail);
}

}  // namespace

void check_tlsrpt(CheckContext& c) {
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
        if (uri.rfind("mailto:", 0) == 0)
            check_mailto_rua(c, uri);
        else if (uri.rfind("https://", 0) == 0)
            check_https_rua(c, uri);
    }
}

}  // namespace moat::mail::internal

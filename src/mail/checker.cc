// check_mail(): S1-S5 (the _mta-sts record), H1-H8 (the policy host over HTTPS) and P1-P8 (the
// policy text). The MX stage is in checker_mx.cc, TLS-RPT in checker_tlsrpt.cc, DANE in
// checker_dane.cc.
#include "mail/checker.h"

#include <algorithm>

#include "edge/client.h"
#include "mail/grammar.h"
#include "mail/internal/check_context.h"

namespace moat::mail {
namespace internal {

constexpr const char* k31 = "RFC 8461 §3.1";
constexpr const char* k33 = "RFC 8461 §3.3";

DnsAnswer txt_records(Resolver& dns, const std::string& name, std::vector<std::string>& out,
                      bool* split) {
    DnsAnswer a = dns.query(name, RrType::kTxt);
    for (const auto& rd : a.rdata) {
        auto parts = txt_strings(rd);
        if (split && parts.size() > 1) *split = true;
        std::string joined;
        for (const auto& p : parts) joined += p;  // no spaces added (RFC 8461 §3.1)
        out.push_back(std::move(joined));
    }
    return a;
}

std::vector<std::string> addresses_of(Resolver& dns, const std::string& host, DnsAnswer* a4,
                                      DnsAnswer* a6) {
    std::vector<std::string> out;
    DnsAnswer a = dns.query(host, RrType::kA);
    DnsAnswer aaaa = dns.query(host, RrType::kAaaa);
    for (const auto& rd : a.rdata)
        if (auto s = decode_address(rd); !s.empty()) out.push_back(s);
    for (const auto& rd : aaaa.rdata)
        if (auto s = decode_address(rd); !s.empty()) out.push_back(s);
    if (a4) *a4 = a;
    if (a6) *a6 = aaaa;
    return out;
}

void check_sts_dns(CheckContext& c) {
    const std::string& d = c.o.domain;
    std::vector<std::string> txts;
    bool split = false;
    DnsAnswer a = txt_records(c.dns, "_mta-sts." + d, txts, &split);
    if (!a.ok() && !a.absent()) {
        c.add("S1", Status::kFail,
              fmt::format("_mta-sts.{} TXT lookup failed: {} (senders treat this as a temporary "
                          "failure)",
                          d, a.describe()),
              k31);
        return;
    }
    if (a.absent()) {
        c.add("S1", Status::kInfo,
              fmt::format("_mta-sts.{}: {}: the domain has no MTA-STS", d, a.describe()), k31);
    } else {
        std::string via = !a.canonical.empty() && a.canonical != "_mta-sts." + d
                              ? " (via CNAME " + a.canonical + ")"
                              : "";
        c.add("S1", Status::kPass,
              fmt::format("_mta-sts.{} has {} TXT record(s){}", d, txts.size(), via), k31);
    }
    std::vector<std::string> sts, other;
    for (const auto& t : txts) (t.rfind("v=STSv1", 0) == 0 ? sts : other).push_back(t);
    if (!other.empty())
        c.add("S2", Status::kWarn,
              fmt::format("{} other TXT record(s) at _mta-sts (e.g. \"{}\"): senders discard "
                          "them, but they hint at a leak or a wrong name",
                          other.size(), other[0].substr(0, 60)),
              k31);
    if (sts.size() > 1) {
        c.add("S2", Status::kFail,
              fmt::format("{} records begin with v=STSv1: senders then act as if there were no "
                          "policy (delete the old one)",
                          sts.size()),
              k31);
    } else if (sts.size() == 1) {
        c.add("S2", Status::kPass, "exactly one v=STSv1 record", k31);
        if (split)
            c.add("S3", Status::kInfo,
                  fmt::format("the record is split into several strings; joined: \"{}\"", sts[0]),
                  k31);
        auto rec = parse_sts_record(sts[0]);
        c.add_all(rec.results);
        c.sts_record = rec.valid;
        c.live_id = rec.id;
        c.add("S5", a.ttl > 86400 ? Status::kWarn : Status::kInfo,
              fmt::format("TTL {} s{}; DNSSEC: {}", a.ttl,
                          a.ttl > 86400 ? " (over a day: a new id reaches senders slowly)" : "",
                          !c.dns.validating() ? "not checked (no trust anchor)"
                          : a.secure          ? "signed and valid"
                                              : "unsigned"),
              "RFC 8461 §8.1");
    }
    // A v=STSv1 record at the domain itself: a common mistake (the owner name is _mta-sts.<d>).
    std::vector<std::string> apex;
    txt_records(c.dns, d, apex);
    for (const auto& t : apex) {
        if (t.rfind("v=STSv1", 0) == 0) {
            c.add("S2", Status::kFail,
                  fmt::format("a v=STSv1 record is published at {} itself: it belongs at "
                              "_mta-sts.{}",
                              d, d),
                  k31);
            break;
        }
    }
}

namespace {

struct Fetch {
    bool ok = false;
    std::string error;
    edge::ClientResponse res;
    std::chrono::milliseconds elapsed{0};
};

Fetch fetch_policy(const CheckContext& c, const std::string& host, const std::string& ip,
                   const std::string& user_agent) {
    edge::ClientOptions co;
    co.connect_timeout = c.timeout();
    co.timeout = std::max(c.timeout(), std::chrono::milliseconds(1000));
    co.max_body = 65536;  // RFC 8461 §3.3: senders may refuse larger bodies
    co.ca_file = c.o.ca_file;
    co.user_agent = user_agent;
    std::string port = std::to_string(c.o.https_port);
    co.resolve.push_back(host + ":" + port + ":" +
                         (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip));
    edge::HttpClient client(co);
    std::string url =
        "https://" + host + (c.o.https_port == 443 ? "" : ":" + port) + "/.well-known/mta-sts.txt";
    auto start = std::chrono::steady_clock::now();
    auto r = client.get(url);
    Fetch f;
    f.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (!r) {
        f.error = r.error().detail;
        if (r.error().code == Errc::kTooLarge) f.error = "TOO_LARGE " + f.error;
        return f;
    }
    f.ok = true;
    f.res = std::move(*r);
    return f;
}

std::string lower(std::string_view s) { return grammar::to_lower(s); }

// Max-age of a Cache-Control value, or -1.
long cache_max_age(std::string_view cc) {
    std::string l = lower(cc);
    auto p = l.find("max-age=");
    if (p == std::string::npos) return -1;
    return std::strtol(l.c_str() + p + 8, nullptr, 10);
}

void judge_tls(CheckContext& c, const std::string& ip, const TlsProbeResult& t) {
    if (!t.connected) {
        c.add("H2", Status::kFail, fmt::format("{}: {}", ip, t.error), k33);
        return;
    }
    if (!t.handshake) {
        c.add("H2", Status::kFail, fmt::format("{}: {} (sts-webpki-invalid)", ip, t.error),
              "RFC 8461 §7.2");
        return;
    }
    bool ok = true;
    if (!t.chain_ok) {
        c.add("H2", Status::kFail,
              fmt::format("{}: the certificate does not chain to a trusted root: {} "
                          "(sts-webpki-invalid)",
                          ip, t.verify_error),
              "RFC 8461 §3.3, §7.1");
        ok = false;
    }
    if (!t.name_ok) {
        c.add("H2", Status::kFail,
              fmt::format("{}: the certificate ({}) does not name mta-sts.{} in its SAN "
                          "(sts-webpki-invalid)",
                          ip, t.subject, c.o.domain),
              "RFC 8461 §3.3");
        ok = false;
    }
    if (t.expired) {
        c.add("H2", Status::kFail,
              fmt::format("{}: the certificate is expired or not yet valid", ip), "RFC 8461 §3.3");
        ok = false;
    } else if (t.days_left < 14) {
        c.add("H2", Status::kWarn,
              fmt::format("{}: the certificate expires in {} day(s)", ip, t.days_left), k33);
    }
    if (ok)
        c.add("H2", Status::kPass,
              fmt::format("{}: {} {}, certificate valid for mta-sts.{} ({} days left)", ip,
                          t.version, t.cipher, c.o.domain, t.days_left),
              "RFC 8461 §3.3, §7.2");
}

void judge_response(CheckContext& c, const Fetch& f) {
    const auto& res = f.res;
    if (res.status != 200) {
        std::string loc(res.header("location"));
        c.add("H3", Status::kFail,
              fmt::format("GET /.well-known/mta-sts.txt answered {}{}: only 200 is valid and "
                          "redirects must not be followed",
                          res.status, loc.empty() ? "" : " to " + loc),
              k33);
        return;
    }
    c.add("H3", Status::kPass, "GET /.well-known/mta-sts.txt answered 200 without a redirect", k33);
    std::string ct = lower(res.header("content-type"));
    std::string media = ct.substr(0, ct.find(';'));
    while (!media.empty() && media.back() == ' ') media.pop_back();
    if (media != "text/plain") {
        c.add("H4", Status::kFail,
              fmt::format("Content-Type is \"{}\", not text/plain: senders reject the policy",
                          ct.empty() ? "(none)" : ct),
              "RFC 8461 §3.2");
    } else if (auto cs = ct.find("charset="); cs != std::string::npos &&
                                              ct.substr(cs + 8, 5) != "utf-8" &&
                                              ct.substr(cs + 8, 8) != "us-ascii") {
        c.add("H4", Status::kWarn,
              fmt::format("Content-Type \"{}\": only utf-8 or us-ascii charsets are expected", ct),
              "RFC 8461 §3.2");
    } else {
        c.add("H4", Status::kPass, "Content-Type " + ct, "RFC 8461 §3.2");
    }
    std::size_t n = res.body.size();
    if (n > 10240) {
        c.add("H5", Status::kWarn,
              fmt::format("the body is {} bytes: some senders read only 10 KiB", n), k33);
    } else {
        c.add("H5", Status::kPass, fmt::format("the body is {} bytes (limit 64 KiB)", n), k33);
    }
    if (f.elapsed.count() > 4000) {
        c.add("H6", Status::kWarn,
              fmt::format("the fetch took {} ms: postfix-mta-sts-resolver gives up after 4 s",
                          f.elapsed.count()),
              k33);
    } else {
        c.add("H6", Status::kPass, fmt::format("the fetch took {} ms", f.elapsed.count()), k33);
    }
    long age = cache_max_age(res.header("cache-control"));
    if (age > 3600)
        c.add("H8", Status::kInfo,
              fmt::format("Cache-Control max-age={}: senders must not cache, proxies may", age),
              "RFC 8461 §3.3, §8.2");
}

}  // namespace

void check_policy_host(CheckContext& c) {
    const std::string host = "mta-sts." + c.o.domain;
    DnsAnswer a4, a6;
    auto ips = addresses_of(c.dns, host, &a4, &a6);
    if (ips.empty()) {
        c.add(
            "H1", c.sts_record ? Status::kFail : Status::kInfo,
            fmt::format("{} has no A or AAAA record ({} / {})", host, a4.describe(), a6.describe()),
            "RFC 8461 §3.2");
        if (c.sts_record)
            c.add("H3", Status::kFail, "the policy cannot be fetched: sts-policy-fetch-error", k33);
        return;
    }
    c.add("H1", Status::kPass, fmt::format("{} resolves to {}", host, fmt::join(ips, ", ")),
          "RFC 8461 §3.2");

    std::optional<Fetch> first;
    for (const auto& ip : ips) {
        TlsProbeOptions po;
        po.address = ip;
        po.port = static_cast<std::uint16_t>(c.o.https_port);
        po.name = host;
        po.ca_file = c.o.ca_file;
        po.timeout = c.timeout();
        TlsProbeResult t = probe_tls(po);
        judge_tls(c, ip, t);
        if (!t.handshake) continue;
        Fetch f = fetch_policy(c, host, ip, "moat-check");
        if (!f.ok) {
            bool big = f.error.rfind("TOO_LARGE", 0) == 0;
            c.add(big ? "H5" : "H3", Status::kFail,
                  fmt::format("{}: {}{}", ip,
                              big ? "the body is over 64 KiB: " : "fetch failed: ", f.error),
                  k33);
            continue;
        }
        if (!first) {
            first = f;
            continue;
        }
        if (f.res.status != first->res.status || f.res.body != first->res.body)
            c.add("H1", Status::kWarn,
                  fmt::format("{} answers differently ({}) from the first address ({})", ip,
                              f.res.status, first->res.status),
                  "RFC 8461 §3.3");
    }
    if (!first) {
        if (c.sts_record)
            c.add("H3", Status::kFail, "no address served the policy: sts-policy-fetch-error", k33);
        return;
    }
    judge_response(c, *first);

    // H7: the same request as a real MTA client makes (its User-Agent, no Accept-Encoding).
    Fetch again = fetch_policy(c, host, ips[0], "postfix-mta-sts-resolver");
    if (again.ok && (again.res.status != first->res.status || again.res.body != first->res.body))
        c.add("H7", Status::kWarn,
              fmt::format("a non-browser User-Agent gets status {} instead of {}: a WAF or bot "
                          "filter may block senders",
                          again.res.status, first->res.status),
              "interop");

    if (first->res.status != 200) return;
    c.policy_body = first->res.body;
    c.policy = parse_policy(first->res.body);
    c.add_all(c.policy->results);
    if (c.policy->valid && c.policy->mode) c.mode = *c.policy->mode;
    // Half-configured: the policy is served but senders never look (RFC 8461 §3.1: the TXT
    // record is what tells them there is one).
    if (!c.sts_record && c.policy->valid)
        c.add("S1", Status::kFail,
              fmt::format("{} serves a policy but _mta-sts.{} has no valid v=STSv1 record: "
                          "senders ignore the policy",
                          host, c.o.domain),
              k31);
    if (!c.sts_record) c.mode.clear();  // without the record no sender applies the policy
}

}  // namespace internal

Result<CheckReport> check_mail(const CheckOptions& o) {
    CheckOptions opts = o;
    opts.domain = grammar::to_lower(o.domain);
    if (!opts.domain.empty() && opts.domain.back() == '.') opts.domain.pop_back();
    if (auto why = grammar::domain_error(opts.domain); !why.empty())
        return make_error(Errc::kInvalidArgument, "the domain \"" + o.domain + "\" " + why);
    if (opts.smtp_port < 1 || opts.smtp_port > 65535 || opts.https_port < 1 ||
        opts.https_port > 65535)
        return make_error(Errc::kInvalidArgument, "ports are 1-65535");
    if (opts.timeout_ms < 100) return make_error(Errc::kInvalidArgument, "timeout under 100 ms");
    ResolverOptions ro;
    ro.forwarder = opts.resolver;
    ro.trust_anchor_file = opts.trust_anchor;
    ro.timeout = std::chrono::milliseconds(opts.timeout_ms);
    auto dns = Resolver::create(ro);
    if (!dns) return dns.error();

    CheckReport report;
    report.domain = opts.domain;
    internal::CheckContext c{opts, **dns, report.results};
    internal::check_sts_dns(c);
    internal::check_policy_host(c);
    internal::check_mx(c);
    internal::check_dane(c);  // before R1, which asks whether DANE is deployed
    internal::check_tlsrpt(c);
    for (const auto& r : report.results) report.worst = std::max(report.worst, r.status);
    return report;
}

}  // namespace moat::mail

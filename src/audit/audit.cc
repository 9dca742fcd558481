#include "audit/audit.h"

#include <cctype>
#include <charconv>

#include "audit/grade.h"
#include "audit/internal/resolve.h"
#include "core/text.h"

namespace moat::audit {
namespace {

bool parse_port(std::string_view s, int& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size() && out > 0 && out < 65536;
}

// The address of a --resolve value for `host`: "host:addr" or "host:port:addr".
Result<std::string> resolve_address(const std::string& resolve, const Target& t) {
    std::size_t c = resolve.find(':');
    if (c == std::string::npos || c == 0)
        return make_error(Errc::kInvalidArgument, "--resolve wants HOST:ADDRESS, got " + resolve);
    std::string host = core::ascii_lower(resolve.substr(0, c));
    std::string rest = resolve.substr(c + 1);
    if (host != core::ascii_lower(t.host))
        return make_error(Errc::kInvalidArgument,
                          "--resolve names " + host + ", the URL names " + t.host);
    // curl's form: HOST:PORT:ADDR.
    if (std::size_t c2 = rest.find(':'); c2 != std::string::npos && rest.front() != '[') {
        int port = 0;
        if (parse_port(rest.substr(0, c2), port)) rest = rest.substr(c2 + 1);
    }
    if (rest.size() > 2 && rest.front() == '[' && rest.back() == ']')
        rest = rest.substr(1, rest.size() - 2);
    if (!internal::is_ip_literal(rest))
        return make_error(Errc::kInvalidArgument, "--resolve: not an IP address: " + rest);
    return rest;
}

std::string header(const HttpResponse& r, std::string_view name) {
    for (const auto& [n, v] : r.headers)
        if (core::ascii_lower(n) == name) return v;
    return "";
}

}  // namespace

Result<Target> parse_target(const std::string& url) {
    Target t;
    std::string rest = url;
    std::string l = core::ascii_lower(url);
    if (l.rfind("http://", 0) == 0)
        return make_error(Errc::kInvalidArgument,
                          "moat audit grades HTTPS: use https://" + url.substr(7));
    if (l.rfind("https://", 0) == 0) rest = url.substr(8);
    std::size_t slash = rest.find_first_of("/?#");
    std::string authority = rest.substr(0, slash);
    if (slash != std::string::npos && rest[slash] == '/') t.path = rest.substr(slash);
    if (t.path.find_first_of(" \r\n\t") != std::string::npos)
        return make_error(Errc::kInvalidArgument, "bad path in " + url);
    if (authority.find('@') != std::string::npos)
        return make_error(Errc::kInvalidArgument, "user info is not allowed in " + url);
    std::string port;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string::npos)
            return make_error(Errc::kInvalidArgument, "bad IPv6 literal in " + url);
        t.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':')
                return make_error(Errc::kInvalidArgument, "bad host in " + url);
            port = authority.substr(close + 2);
        }
    } else if (std::size_t c = authority.rfind(':'); c != std::string::npos) {
        t.host = authority.substr(0, c);
        port = authority.substr(c + 1);
    } else {
        t.host = authority;
    }
    if (t.host.empty()) return make_error(Errc::kInvalidArgument, "no host in " + url);
    for (char ch : t.host)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == ':' ||
              ch == '_'))
            return make_error(Errc::kInvalidArgument, "bad host name: " + t.host);
    t.host = core::ascii_lower(t.host);
    if (!port.empty() && !parse_port(port, t.port))
        return make_error(Errc::kInvalidArgument, "bad port: " + port);
    return t;
}

std::string AuditReport::overall_grade() const {
    if (!tls || !headers) return "F";
    return worse_grade(tls_grade.grade, headers->grade());
}

Result<AuditReport> run_audit(const AuditOptions& o) {
    auto target = parse_target(o.url);
    if (!target) return target.error();
    AuditReport rep;
    rep.target = *target;
    ProbeTarget pt;
    pt.host = target->host;
    pt.port = target->port;
    pt.ca_file = o.ca_file;
    pt.timeout = o.timeout;
    // Budget for every TLS and HTTPS probe together: a live server needs well under a second
    // on loopback; one that stalls after the first handshake stops the audit here.
    pt.budget = internal::Clock::now() + 12 * o.timeout;
    std::string addr_host = target->host;
    if (!o.resolve.empty()) {
        auto a = resolve_address(o.resolve, *target);
        if (!a) return a.error();
        addr_host = *a;
    }
    // The name's lookup has the probe's timeout too (resolve.h): a DNS that never answers
    // is a result, not a hang.
    auto addrs = internal::resolve(addr_host, target->port, o.timeout);
    if (!addrs) {
        rep.tls_error = addrs.error().detail;
        return rep;
    }
    pt.endpoint = addrs->front();
    rep.address = pt.endpoint.text;

    auto tls = probe_tls(pt);
    if (!tls) {
        rep.tls_error = tls.error().detail;
        return rep;
    }
    rep.tls = std::move(*tls);

    auto http = fetch_https(pt, target->path, "https://moat-audit.invalid");
    if (http) {
        rep.http = std::move(*http);
        rep.content_encoding = header(*rep.http, "content-encoding");
    } else {
        rep.http_error = http.error().detail;
    }

    auto plain = internal::resolve(addr_host, o.http_port, o.timeout);
    if (plain)
        rep.http_port = probe_http_port(target->host, plain->front(), target->port, o.timeout);
    rep.ipv6 = pt.endpoint.v6() ? Ipv6Report{{pt.endpoint.text}, true, "probed over IPv6"}
                                : probe_ipv6(pt);

    if (rep.http) {
        HeaderContext ctx;
        ctx.https = true;
        ctx.http_port = rep.http_port.home;
        ctx.sent_origin = "https://moat-audit.invalid";
        rep.headers = grade_headers(rep.http->headers, ctx);
        if (rep.http->status >= 300 && rep.http->status < 400)
            rep.headers->notes.push_back(
                "GET " + target->path + " answered " + std::to_string(rep.http->status) +
                " (Location: " + header(*rep.http, "location") +
                "): these are the redirect's headers; audit the final URL for the page's");
        rep.tls->facts.hsts_checked = true;
        rep.tls->facts.hsts = rep.headers->hsts;
    }
    rep.tls_grade = grade_tls(rep.tls->facts);
    if (!internal::is_ip_literal(target->host))
        rep.mail_hint = "MTA-STS and TLS-RPT of the mail domain: moat check mail " + target->host;
    return rep;
}

}  // namespace moat::audit

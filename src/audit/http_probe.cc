#include "audit/http_probe.h"

#include <netinet/in.h>
#include <openssl/err.h>

#include <algorithm>
#include <charconv>

#include "audit/internal/resolve.h"
#include "core/text.h"

namespace moat::audit {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// RFC 9110 §5.5: field values carry no control characters but HTAB. A hostile server's bytes
// end up on an operator's terminal, so any other control character becomes '?'.
std::string printable(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) c = '?';
    }
    return out;
}

bool head_done(const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; }

std::string request(const std::string& host, int port, int default_port, const std::string& path,
                    const std::string& origin) {
    // Built by appending: g++ 12 gives a false -Wrestrict on "literal" + std::string chains.
    std::string h;
    if (host.find(':') != std::string::npos && host.front() != '[') {
        h.append("[").append(host).append("]");
    } else {
        h = host;
    }
    if (port != default_port) h.append(":").append(std::to_string(port));
    std::string r;
    r.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(h);
    r.append("\r\nUser-Agent: moat-audit/0.1\r\nAccept: text/html,*/*\r\n");
    r.append("Accept-Encoding: br, zstd, gzip\r\n");
    if (!origin.empty()) r.append("Origin: ").append(origin).append("\r\n");
    r.append("Connection: close\r\n\r\n");
    return r;
}

std::string header(const HttpResponse& r, std::string_view name) {
    for (const auto& [n, v] : r.headers)
        if (core::ascii_lower(n) == name) return v;
    return "";
}

}  // namespace

Result<HttpResponse> parse_response_head(const std::string& raw) {
    std::size_t end = raw.find("\r\n\r\n");
    std::string_view head(raw.data(), end == std::string::npos ? raw.size() : end);
    HttpResponse r;
    std::size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    if (line.substr(0, 7) != "HTTP/1." || line.size() < 12)
        return make_error(Errc::kInvalidArgument,
                          "not an HTTP/1.x response: '" + std::string(line.substr(0, 40)) + "'");
    r.status_line = printable(line);
    auto code = line.substr(9, 3);
    auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), r.status);
    if (ec != std::errc() || r.status < 100 || r.status > 599)
        return make_error(Errc::kInvalidArgument, "bad status line: " + r.status_line);
    std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
        std::size_t e = head.find("\r\n", pos);
        if (e == std::string_view::npos) e = head.size();
        std::string_view l = head.substr(pos, e - pos);
        pos = e + 2;
        if (l.empty()) break;
        if ((l[0] == ' ' || l[0] == '\t') && !r.headers.empty()) {  // RFC 9112 §5.2 obs-fold
            r.headers.back().second.append(" ").append(printable(trim(l)));
            continue;
        }
        std::size_t colon = l.find(':');
        if (colon == std::string_view::npos || colon == 0) continue;
        r.headers.emplace_back(printable(l.substr(0, colon)), printable(trim(l.substr(colon + 1))));
    }
    return r;
}

Result<HttpResponse> fetch_https(const ProbeTarget& t, const std::string& path,
                                 const std::string& origin) {
    internal::SslCtxPtr ctx = internal::probe_context(TLS1_2_VERSION, TLS1_3_VERSION);
    if (!ctx) return make_error(Errc::kInternal, "SSL_CTX_new failed");
    SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
    internal::Deadline d = t.deadline();
    auto sock = internal::connect_tcp(t.endpoint, d);
    if (!sock) return sock.error();
    internal::SslPtr ssl(SSL_new(ctx.get()));
    static const unsigned char kAlpn[] = "\x08http/1.1";
    SSL_set_alpn_protos(ssl.get(), kAlpn, sizeof kAlpn - 1);
    if (!internal::is_ip_literal(t.host)) SSL_set_tlsext_host_name(ssl.get(), t.host.c_str());
    MOAT_TRY(internal::handshake(ssl.get(), *sock, d));
    auto raw = internal::tls_exchange(ssl.get(), *sock, request(t.host, t.port, 443, path, origin),
                                      256 * 1024, head_done, d);
    if (!raw) return raw.error();
    if (raw->empty()) return make_error(Errc::kUnavailable, "no HTTP response before the timeout");
    return parse_response_head(*raw);
}

HttpPort classify_redirect(const std::string& host, int status, const std::string& location) {
    if (status < 300 || status > 399 || location.empty()) return HttpPort::kNoRedirect;
    std::string l = core::ascii_lower(location);
    if (l.rfind("https://", 0) != 0) return HttpPort::kRedirectToHttp;
    std::string authority = l.substr(8, l.find('/', 8) - 8);
    // Strip a port: [v6]:443 or name:443.
    std::string hostpart = authority;
    if (!hostpart.empty() && hostpart.front() == '[') {
        hostpart = hostpart.substr(0, hostpart.find(']') + 1);
    } else if (auto c = hostpart.rfind(':'); c != std::string::npos) {
        hostpart = hostpart.substr(0, c);
    }
    auto bare = [](std::string h) {
        if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
        return h;
    };
    return bare(hostpart) == bare(core::ascii_lower(host)) ? HttpPort::kRedirectSameHost
                                                           : HttpPort::kRedirectOffHost;
}

HttpPortReport probe_http_port(const std::string& host, const internal::Endpoint& ep,
                               int https_port, std::chrono::milliseconds timeout) {
    HttpPortReport rep;
    int port = ntohs(ep.v6() ? reinterpret_cast<const sockaddr_in6*>(&ep.addr)->sin6_port
                             : reinterpret_cast<const sockaddr_in*>(&ep.addr)->sin_port);
    auto get = [&](const std::string& path, int& status, std::string& location) -> Result<void> {
        internal::Deadline d = internal::Clock::now() + timeout;
        auto s = internal::connect_tcp(ep, d);
        if (!s) return s.error();
        auto raw = internal::tcp_exchange(*s, request(host, port, 80, path, ""), 64 * 1024, d);
        if (!raw) return raw.error();
        auto r = parse_response_head(*raw);
        if (!r) return r.error();
        status = r->status;
        location = header(*r, "location");
        return {};
    };
    (void)https_port;
    auto home = get("/", rep.home_status, rep.home_location);
    if (!home) {
        rep.home = HttpPort::kNotListening;
        rep.summary = "refuse";
        rep.error = home.error().detail;
        return rep;
    }
    rep.home = classify_redirect(host, rep.home_status, rep.home_location);
    auto deep = get("/moat-audit/deep/path?x=1", rep.deep_status, rep.deep_location);
    bool deep_redirects = deep && classify_redirect(host, rep.deep_status, rep.deep_location) ==
                                      HttpPort::kRedirectSameHost;
    if (rep.home == HttpPort::kRedirectSameHost)
        rep.summary = deep_redirects ? "redirect everything" : "redirect home only";
    else if (rep.home == HttpPort::kNoRedirect)
        rep.summary = "serves plain http (status " + std::to_string(rep.home_status) + ")";
    else
        rep.summary = http_port_name(rep.home);
    return rep;
}

Ipv6Report probe_ipv6(const ProbeTarget& t) {
    Ipv6Report rep;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t.deadline() -
                                                                      internal::Clock::now());
    auto addrs =
        internal::resolve(t.host, t.port, std::max(left, std::chrono::milliseconds(0)), AF_INET6);
    if (!addrs) {
        // A lookup that timed out says so; any other failure means no AAAA record.
        rep.detail = addrs.error().code == Errc::kUnavailable
                         ? addrs.error().detail
                         : "no IPv6 address (AAAA) for " + t.host;
        return rep;
    }
    for (const auto& a : *addrs) rep.addresses.push_back(a.text);
    ProbeTarget v6 = t;
    v6.endpoint = addrs->front();
    internal::SslCtxPtr ctx = internal::probe_context(TLS1_VERSION, TLS1_3_VERSION);
    internal::Deadline d = t.deadline();
    auto sock = internal::connect_tcp(v6.endpoint, d);
    if (!sock) {
        rep.detail = sock.error().detail;
        return rep;
    }
    internal::SslPtr ssl(SSL_new(ctx.get()));
    if (!internal::is_ip_literal(t.host)) SSL_set_tlsext_host_name(ssl.get(), t.host.c_str());
    auto hs = internal::handshake(ssl.get(), *sock, d);
    rep.reachable = hs.has_value();
    rep.detail = hs ? "TLS handshake ok at " + v6.endpoint.text : hs.error().detail;
    return rep;
}

}  // namespace moat::audit

#include "acme/dns_update.h"
// clang-format off
// Before ldns: its headers define bool-ish macros that break fmt's templates.
#include "core/log.h"
// clang-format on

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netdb.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <thread>

#include "acme/internal/crypto.h"

namespace moat::acme {
namespace {

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct ResFree {
    void operator()(ldns_resolver* r) const { ldns_resolver_deep_free(r); }
};
struct ListFree {
    void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using ResPtr = std::unique_ptr<ldns_resolver, ResFree>;

std::string absolute(std::string n) {
    if (n.empty() || n.back() != '.') n += '.';
    return n;
}

bool valid_dns_name(std::string_view n) {
    if (n.empty() || n.size() > 253) return false;
    for (char c : n) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_';
        if (!ok) return false;
    }
    return true;
}

// The TXT values moat writes are base64url digests; anything else is refused so a value can
// never break out of the quoted string in the RR text.
bool valid_txt(std::string_view v) {
    if (v.empty() || v.size() > 255) return false;
    for (char c : v)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    return true;
}

Result<std::string> algorithm_name(std::string_view a) {
    std::string s(a);
    if (!s.empty() && s.back() == '.') s.pop_back();
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "hmac-sha256" || s == "hmac-sha384" || s == "hmac-sha512") return s + ".";
    return make_error(Errc::kInvalidArgument,
                      "tsig_algorithm must be hmac-sha256, hmac-sha384 or hmac-sha512");
}

Error rcode_error(ldns_pkt_rcode rc, const std::string& what) {
    ldns_lookup_table* lt = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rc));
    std::string name = lt ? lt->name : std::to_string(static_cast<int>(rc));
    // knot answers NOTAUTH (TSIG error BADKEY) when the ACL denies a keyed update, BIND
    // REFUSED: both mean "not authorized".
    if (rc == LDNS_RCODE_NOTAUTH || rc == LDNS_RCODE_REFUSED)
        return make_error(
            Errc::kDenied,
            what + ": " + name + " (the TSIG key or the server's ACL does not allow it)");
    return make_error(Errc::kUnavailable, what + ": " + name);
}

Result<PktPtr> make_update(const UpdateSpec& spec) {
    if (!valid_dns_name(spec.zone) || !valid_dns_name(spec.fqdn))
        return make_error(Errc::kInvalidArgument, "bad DNS name in update");
    if (!valid_txt(spec.value)) return make_error(Errc::kInvalidArgument, "bad TXT value");
    ldns_rr* rr = nullptr;
    std::string text =
        absolute(spec.fqdn) + " " + std::to_string(spec.ttl) + " IN TXT \"" + spec.value + "\"";
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK)
        return make_error(Errc::kInvalidArgument, "cannot build TXT record for " + spec.fqdn);
    if (!spec.add) {
        // RFC 2136 §2.5.4: delete an RR from an RRset = class NONE, TTL 0, with the rdata.
        ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
        ldns_rr_set_ttl(rr, 0);
    }
    std::unique_ptr<ldns_rr_list, ListFree> list(ldns_rr_list_new());
    ldns_rr_list_push_rr(list.get(), rr);
    ldns_rdf* zone = ldns_dname_new_frm_str(absolute(spec.zone).c_str());
    if (zone == nullptr) return make_error(Errc::kInvalidArgument, "bad zone " + spec.zone);
    // Takes zone, copies the lists.
    PktPtr p(ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, nullptr, list.get(), nullptr));
    if (!p) return make_error(Errc::kInternal, "cannot build UPDATE");
    ldns_pkt_set_rd(p.get(), false);
    if (spec.id != 0)
        ldns_pkt_set_id(p.get(), spec.id);
    else
        ldns_pkt_set_random_id(p.get());
    if (!spec.key_name.empty()) {
        auto alg = algorithm_name(spec.algorithm);
        if (!alg) return alg.error();
        if (!internal::b64_decode(spec.secret))
            return make_error(Errc::kInvalidArgument, "tsig_secret is not base64");
        // RFC 8945 §5.2: fudge 300 s.
        ldns_status st = ldns_pkt_tsig_sign(p.get(), absolute(spec.key_name).c_str(),
                                            spec.secret.c_str(), 300, alg->c_str(), nullptr);
        if (st != LDNS_STATUS_OK)
            return make_error(Errc::kInvalidArgument,
                              std::string("TSIG signing failed: ") + ldns_get_errorstr_by_id(st));
    }
    return p;
}

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view s) {
    std::string host;
    std::string port = "53";
    if (s.starts_with('[')) {
        auto close = s.find(']');
        if (close == std::string_view::npos)
            return make_error(Errc::kInvalidArgument, "bad address");
        host = std::string(s.substr(1, close - 1));
        auto rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') return make_error(Errc::kInvalidArgument, "bad address");
            port = std::string(rest.substr(1));
        }
    } else {
        auto colon = s.rfind(':');
        if (colon != std::string_view::npos && s.find(':') == colon) {
            host = std::string(s.substr(0, colon));
            port = std::string(s.substr(colon + 1));
        } else {
            host = std::string(s);
        }
    }
    if (host.empty() || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
        return make_error(Errc::kInvalidArgument,
                          "expected host:port, got \"" + std::string(s) + "\"");
    long p = std::stol(port);
    if (p < 1 || p > 65535) return make_error(Errc::kInvalidArgument, "port out of range");
    return std::make_pair(host, static_cast<std::uint16_t>(p));
}

Result<std::string> build_update_packet(const UpdateSpec& spec) {
    auto p = make_update(spec);
    if (!p) return p.error();
    std::uint8_t* wire = nullptr;
    std::size_t len = 0;
    if (ldns_pkt2wire(&wire, p->get(), &len) != LDNS_STATUS_OK)
        return make_error(Errc::kInternal, "cannot encode UPDATE");
    std::string out(reinterpret_cast<char*>(wire), len);
    LDNS_FREE(wire);
    return out;
}

Result<DnsUpdater> DnsUpdater::create(const DnsUpdateSettings& s, Sleep sleep,
                                      Cancelled cancelled) {
    DnsUpdater u;
    u.s_ = s;
    u.cancelled_ = std::move(cancelled);
    u.sleep_ = sleep ? std::move(sleep)
                     : Sleep([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); });
    auto hp = parse_host_port(s.server);
    if (!hp) return make_error(Errc::kInvalidArgument, "acme.dns.server: " + hp.error().detail);
    // ldns wants an address: resolve a host name once here.
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* ai = nullptr;
    if (getaddrinfo(hp->first.c_str(), nullptr, &hints, &ai) != 0 || ai == nullptr)
        return make_error(Errc::kUnavailable, "acme.dns.server: cannot resolve " + hp->first);
    char buf[INET6_ADDRSTRLEN] = {0};
    if (ai->ai_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, buf, sizeof buf);
    else
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, buf,
                  sizeof buf);
    freeaddrinfo(ai);
    u.host_ = buf;
    u.port_ = hp->second;
    if (!s.tsig_name.empty()) {
        if (auto a = algorithm_name(s.tsig_algorithm); !a) return a.error();
        if (!internal::b64_decode(s.tsig_secret))
            return make_error(Errc::kInvalidArgument, "acme.dns.tsig_secret is not base64");
    }
    return u;
}

namespace {

Result<ResPtr> resolver_for(const std::string& host, std::uint16_t port, bool tcp) {
    ResPtr r(ldns_resolver_new());
    if (!r) return make_error(Errc::kInternal, "ldns_resolver_new failed");
    ldns_rdf* addr = ldns_rdf_new_frm_str(
        host.find(':') == std::string::npos ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, host.c_str());
    if (addr == nullptr) return make_error(Errc::kInvalidArgument, "bad server address " + host);
    ldns_resolver_push_nameserver(r.get(), addr);  // copies
    ldns_rdf_deep_free(addr);
    ldns_resolver_set_port(r.get(), port);
    ldns_resolver_set_usevc(r.get(), tcp);
    ldns_resolver_set_recursive(r.get(), false);
    ldns_resolver_set_retry(r.get(), 1);
    ldns_resolver_set_timeout(r.get(), timeval{5, 0});
    return r;
}

Result<PktPtr> query(const std::string& host, std::uint16_t port, const std::string& name,
                     ldns_rr_type type) {
    auto r = resolver_for(host, port, /*tcp=*/true);
    if (!r) return r.error();
    std::unique_ptr<ldns_rdf, RdfFree> qname(ldns_dname_new_frm_str(absolute(name).c_str()));
    if (!qname) return make_error(Errc::kInvalidArgument, "bad DNS name " + name);
    PktPtr q(ldns_pkt_query_new(ldns_rdf_clone(qname.get()), type, LDNS_RR_CLASS_IN, 0));
    if (!q) return make_error(Errc::kInternal, "cannot build query");
    ldns_pkt_set_random_id(q.get());
    ldns_pkt* answer = nullptr;
    ldns_status st = ldns_resolver_send_pkt(&answer, r->get(), q.get());
    if (st != LDNS_STATUS_OK || answer == nullptr) {
        if (answer) ldns_pkt_free(answer);
        return make_error(Errc::kUnavailable, "DNS query to " + host + ":" + std::to_string(port) +
                                                  " failed: " + ldns_get_errorstr_by_id(st));
    }
    return PktPtr(answer);
}

std::string owner_of_soa(ldns_rr_list* list) {
    for (std::size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
        ldns_rr* rr = ldns_rr_list_rr(list, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) continue;
        char* s = ldns_rdf2str(ldns_rr_owner(rr));
        std::string out = s ? s : "";
        free(s);
        if (!out.empty() && out.back() == '.') out.pop_back();
        return out;
    }
    return {};
}

// The rdata (first field, presentation form) of every `type` record in a section; names
// without their trailing dot.
std::vector<std::string> rdata_of(ldns_rr_list* list, ldns_rr_type type) {
    std::vector<std::string> out;
    for (std::size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
        ldns_rr* rr = ldns_rr_list_rr(list, i);
        if (ldns_rr_get_type(rr) != type || ldns_rr_rd_count(rr) < 1) continue;
        char* s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
        std::string v = s ? s : "";
        free(s);
        if (type != LDNS_RR_TYPE_TXT && !v.empty() && v.back() == '.') v.pop_back();
        if (!v.empty()) out.push_back(std::move(v));
    }
    return out;
}

std::vector<std::string> system_addresses(const std::string& name) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::vector<std::string> out;
    if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) return out;
    for (addrinfo* a = res; a; a = a->ai_next) {
        char buf[INET6_ADDRSTRLEN] = {};
        const void* src =
            a->ai_family == AF_INET
                ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        if (::inet_ntop(a->ai_family, src, buf, sizeof buf) &&
            std::find(out.begin(), out.end(), buf) == out.end())
            out.emplace_back(buf);
    }
    ::freeaddrinfo(res);
    return out;
}

}  // namespace

Result<std::string> DnsUpdater::zone_for(const std::string& fqdn) {
    if (!s_.zone.empty()) return s_.zone;
    auto a = query(host_, port_, fqdn, LDNS_RR_TYPE_SOA);
    if (!a) return a.error();
    std::string z = owner_of_soa(ldns_pkt_answer(a->get()));
    if (z.empty()) z = owner_of_soa(ldns_pkt_authority(a->get()));
    if (z.empty())
        return make_error(Errc::kNotFound, "no zone found for " + fqdn + " at " + s_.server +
                                               " (set acme.dns.zone)");
    return z;
}

Result<void> DnsUpdater::update(const std::string& fqdn, const std::string& value, bool add) {
    auto zone = zone_for(fqdn);
    if (!zone) return zone.error();
    UpdateSpec spec{*zone, fqdn, value, add, 60, s_.tsig_name, s_.tsig_algorithm, s_.tsig_secret};
    auto p = make_update(spec);
    if (!p) return p.error();
    auto r = resolver_for(host_, port_, /*tcp=*/true);
    if (!r) return r.error();
    if (!s_.tsig_name.empty()) {
        // Lets ldns_send verify the TSIG of the answer against the same key.
        auto alg = algorithm_name(s_.tsig_algorithm);
        ldns_resolver_set_tsig_keyname(r->get(), absolute(s_.tsig_name).c_str());
        ldns_resolver_set_tsig_keydata(r->get(), s_.tsig_secret.c_str());
        ldns_resolver_set_tsig_algorithm(r->get(), alg->c_str());
    }
    ldns_pkt* answer = nullptr;
    std::string what = std::string(add ? "DNS UPDATE add " : "DNS UPDATE delete ") + fqdn + " TXT";
    ldns_status st = ldns_resolver_send_pkt(&answer, r->get(), p->get());
    PktPtr ans(answer);
    if (ans && ldns_pkt_get_rcode(ans.get()) != LDNS_RCODE_NOERROR)
        return rcode_error(ldns_pkt_get_rcode(ans.get()), what);
    if (st != LDNS_STATUS_OK || !ans)
        return make_error(Errc::kUnavailable,
                          what + " to " + s_.server + " failed: " + ldns_get_errorstr_by_id(st));
    return {};
}

Result<void> DnsUpdater::add_txt(const std::string& fqdn, const std::string& value) {
    return update(fqdn, value, true);
}

Result<void> DnsUpdater::remove_txt(const std::string& fqdn, const std::string& value) {
    return update(fqdn, value, false);
}

Result<bool> DnsUpdater::has_txt(const std::string& host, std::uint16_t port,
                                 const std::string& fqdn, const std::string& value) {
    auto a = query(host, port, fqdn, LDNS_RR_TYPE_TXT);
    if (!a) return a.error();
    for (const auto& got : rdata_of(ldns_pkt_answer(a->get()), LDNS_RR_TYPE_TXT))
        if (got == "\"" + value + "\"") return true;
    return false;
}

std::vector<std::pair<std::string, std::uint16_t>> DnsUpdater::authoritative_servers(
    const std::string& fqdn) {
    std::vector<std::pair<std::string, std::uint16_t>> out{{host_, port_}};
    auto zone = zone_for(fqdn);
    if (!zone) return out;
    auto ns = query(host_, port_, *zone, LDNS_RR_TYPE_NS);
    if (!ns) return out;
    for (const auto& name : rdata_of(ldns_pkt_answer(ns->get()), LDNS_RR_TYPE_NS)) {
        std::vector<std::string> addrs;
        // In-zone name servers: the primary knows their addresses (glue). Others: the
        // system's resolver.
        for (ldns_rr_type t : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA})
            if (auto a = query(host_, port_, name, t))
                for (auto& ip : rdata_of(ldns_pkt_answer(a->get()), t)) addrs.push_back(ip);
        if (addrs.empty()) addrs = system_addresses(name);
        if (addrs.empty())
            core::logger("acme")->warn("dns-01: name server {} of {} has no address; not checked",
                                       name, *zone);
        for (const auto& ip : addrs) {
            // The configured primary listed as an NS under its own address is the same server
            // (tests run it on a high port); every other name server answers on port 53.
            std::pair<std::string, std::uint16_t> srv{ip, ip == host_ ? port_ : 53};
            if (std::find(out.begin(), out.end(), srv) == out.end()) out.push_back(srv);
        }
    }
    return out;
}

Result<void> DnsUpdater::wait_for_txt(const std::string& fqdn, const std::string& value) {
    auto deadline = std::chrono::steady_clock::now() + s_.propagation_timeout;
    // RFC 8555 §8.4: the CA may ask any authoritative server (through its resolver), so every
    // name server of the zone must answer the record before the challenge is submitted.
    auto pending = authoritative_servers(fqdn);
    std::string last;
    for (;;) {
        for (auto it = pending.begin(); it != pending.end();) {
            auto h = has_txt(it->first, it->second, fqdn, value);
            if (h && *h) {
                it = pending.erase(it);
                continue;
            }
            last = h ? "record not visible yet" : h.error().detail;
            ++it;
        }
        if (pending.empty()) return {};
        if (std::chrono::steady_clock::now() >= deadline) break;
        sleep_(std::chrono::milliseconds(500));
        if (cancelled_ && cancelled_())
            return make_error(Errc::kUnavailable,
                              "TXT " + fqdn + ": stopped waiting, moat is stopping");
    }
    std::string who;
    for (const auto& [h, p] : pending)
        who += (who.empty() ? "" : ", ") + (h.find(':') != std::string::npos ? "[" + h + "]" : h) +
               ":" + std::to_string(p);
    return make_error(Errc::kUnavailable, "TXT " + fqdn + " not answered by " + who + " within " +
                                              std::to_string(s_.propagation_timeout.count()) +
                                              "s: " + last);
}

}  // namespace moat::acme

#include "mail/resolver.h"

#include <arpa/inet.h>
#include <poll.h>
#include <unbound.h>

#include <algorithm>

namespace moat::mail {
namespace {

struct Pending {
    bool done = false;
    int err = 0;
    ub_result* result = nullptr;
};

void on_result(void* arg, int err, ub_result* result) {
    auto* p = static_cast<Pending*>(arg);
    p->done = true;
    p->err = err;
    p->result = result;
}

// "1.2.3.4:53" -> "1.2.3.4@53", "[::1]:53" -> "::1@53"; a bare address stays.
std::string unbound_address(const std::string& a) {
    if (!a.empty() && a.front() == '[') {
        auto close = a.find(']');
        if (close == std::string::npos) return a;
        std::string host = a.substr(1, close - 1);
        if (close + 1 < a.size() && a[close + 1] == ':') return host + "@" + a.substr(close + 2);
        return host;
    }
    if (std::count(a.begin(), a.end(), ':') == 1) {
        auto c = a.find(':');
        return a.substr(0, c) + "@" + a.substr(c + 1);
    }
    return a;
}

// Reads a wire-format name at `pos` (no compression in rdata of the types we read).
bool read_name(const std::string& d, std::size_t& pos, std::string& out) {
    out.clear();
    for (int guard = 0; guard < 128; ++guard) {
        if (pos >= d.size()) return false;
        auto len = static_cast<unsigned char>(d[pos++]);
        if (len == 0) return true;
        if (len > 63 || pos + len > d.size()) return false;
        if (!out.empty()) out += '.';
        for (std::size_t i = 0; i < len; ++i) {
            char c = d[pos + i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            out += c;
        }
        pos += len;
    }
    return false;
}

}  // namespace

std::string DnsAnswer::describe() const {
    switch (status) {
        case Status::kOk:
            return "NOERROR";
        case Status::kNoData:
            return "no records (NODATA)";
        case Status::kNxDomain:
            return "NXDOMAIN";
        case Status::kServFail:
            return bogus ? "DNSSEC bogus: " + why_bogus
                         : "SERVFAIL (rcode " + std::to_string(rcode) + ")";
        case Status::kTimeout:
            return "timeout";
    }
    return "?";
}

Result<std::unique_ptr<Resolver>> Resolver::create(const ResolverOptions& o) {
    std::unique_ptr<Resolver> r(new Resolver());
    r->ctx_ = ub_ctx_create();
    if (!r->ctx_) return make_error(Errc::kInternal, "ub_ctx_create failed");
    r->timeout_ = o.timeout;
    ub_ctx_async(r->ctx_, 1);  // a thread, not a forked process
    ub_ctx_set_option(r->ctx_, "do-not-query-localhost:", "no");
    int err = 0;
    if (!o.forwarder.empty()) {
        // libunbound answers the RFC 6761 special-use names (test., invalid., ...) itself with
        // NXDOMAIN; a given forwarder (a test zone, a lab resolver) must see those queries.
        // ("nodefault" is ignored through ub_ctx_set_option; "transparent" overrides them.)
        for (const char* zone :
             {"test. transparent", "invalid. transparent", "home.arpa. transparent"})
            ub_ctx_set_option(r->ctx_, "local-zone:", zone);
        err = ub_ctx_set_fwd(r->ctx_, unbound_address(o.forwarder).c_str());
    } else {
        err = ub_ctx_resolvconf(r->ctx_, nullptr);
    }
    if (err != 0)
        return make_error(Errc::kInvalidArgument,
                          "resolver \"" + o.forwarder + "\": " + ub_strerror(err));
    if (!o.trust_anchor_file.empty()) {
        err = ub_ctx_add_ta_file(r->ctx_, o.trust_anchor_file.c_str());
        if (err != 0)
            return make_error(Errc::kInvalidArgument,
                              "trust anchor " + o.trust_anchor_file + ": " + ub_strerror(err));
        r->validating_ = true;
    }
    return r;
}

Resolver::~Resolver() {
    if (ctx_) ub_ctx_delete(ctx_);
}

DnsAnswer Resolver::query(const std::string& name, RrType type) {
    DnsAnswer out;
    Pending p;
    int id = 0;
    int err = ub_resolve_async(ctx_, name.c_str(), static_cast<int>(type), 1, &p, on_result, &id);
    if (err != 0) {
        out.status = DnsAnswer::Status::kServFail;
        out.why_bogus = ub_strerror(err);
        return out;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (!p.done) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ub_cancel(ctx_, id);
            out.status = DnsAnswer::Status::kTimeout;
            return out;
        }
        pollfd pfd{ub_fd(ctx_), POLLIN, 0};
        ::poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), 200)));
        ub_process(ctx_);
    }
    if (p.err != 0 || !p.result) {
        out.status = DnsAnswer::Status::kServFail;
        out.why_bogus = ub_strerror(p.err);
        if (p.result) ub_resolve_free(p.result);
        return out;
    }
    ub_result* r = p.result;
    out.rcode = r->rcode;
    out.secure = r->secure != 0;
    out.bogus = r->bogus != 0;
    if (r->why_bogus) out.why_bogus = r->why_bogus;
    out.ttl = r->ttl > 0 ? static_cast<std::uint32_t>(r->ttl) : 0;
    if (r->canonname) {
        out.canonical = r->canonname;
        if (!out.canonical.empty() && out.canonical.back() == '.') out.canonical.pop_back();
    }
    if (r->havedata) {
        out.status = DnsAnswer::Status::kOk;
        for (int i = 0; r->data[i]; ++i) out.rdata.emplace_back(r->data[i], r->len[i]);
    } else if (r->nxdomain) {
        out.status = DnsAnswer::Status::kNxDomain;
    } else if (r->rcode == 0 && !r->bogus) {
        out.status = DnsAnswer::Status::kNoData;
    } else {
        out.status = DnsAnswer::Status::kServFail;
    }
    ub_resolve_free(r);
    return out;
}

std::vector<std::string> txt_strings(const std::string& d) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < d.size()) {
        auto len = static_cast<unsigned char>(d[pos++]);
        if (pos + len > d.size()) return {};
        out.emplace_back(d.substr(pos, len));
        pos += len;
    }
    return out;
}

bool decode_mx(const std::string& d, MxRecord& out) {
    if (d.size() < 3) return false;
    out.preference = (static_cast<unsigned char>(d[0]) << 8) | static_cast<unsigned char>(d[1]);
    std::size_t pos = 2;
    return read_name(d, pos, out.host) && pos == d.size();
}

std::string decode_address(const std::string& d) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (d.size() == 4) return inet_ntop(AF_INET, d.data(), buf, sizeof buf) ? buf : "";
    if (d.size() == 16) return inet_ntop(AF_INET6, d.data(), buf, sizeof buf) ? buf : "";
    return "";
}

bool decode_tlsa(const std::string& d, TlsaRecord& out) {
    if (d.size() < 4) return false;
    out.usage = static_cast<unsigned char>(d[0]);
    out.selector = static_cast<unsigned char>(d[1]);
    out.mtype = static_cast<unsigned char>(d[2]);
    out.data = d.substr(3);
    return true;
}

bool decode_caa(const std::string& d, CaaRecord& out) {
    if (d.size() < 2) return false;
    out.flags = static_cast<unsigned char>(d[0]);
    auto tl = static_cast<unsigned char>(d[1]);
    if (2u + tl > d.size()) return false;
    out.tag = d.substr(2, tl);
    out.value = d.substr(2 + tl);
    return true;
}

}  // namespace moat::mail

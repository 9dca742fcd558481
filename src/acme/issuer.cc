#include "acme/issuer.h"

#include <algorithm>
#include <set>
#include <thread>

#include "acme/x509_tools.h"
#include "core/log.h"

namespace moat::acme {
namespace {

Error reasoned(Errc code, std::string detail, Reason r) {
    Error e = make_error(code, std::move(detail));
    e.reason = static_cast<int>(r);
    return e;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

Issuer::Issuer(AcmeClient& client, const AccountKey& key, std::vector<Solver*> solvers,
               IssuerOptions opts)
    : client_(client), key_(key), solvers_(std::move(solvers)), opts_(std::move(opts)) {
    if (!opts_.sleep)
        opts_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

Result<void> Issuer::pause() {
    // §7.5.1 / §7.4: clients poll; Retry-After says how long to wait, within sane bounds.
    std::chrono::milliseconds d = opts_.poll_min;
    if (auto ra = client_.retry_after())
        d = std::clamp<std::chrono::milliseconds>(*ra, opts_.poll_min, opts_.poll_max);
    opts_.sleep(d);
    if (opts_.cancelled && opts_.cancelled())
        return make_error(Errc::kUnavailable, "order interrupted by shutdown");
    return {};
}

Result<void> Issuer::authorize(const std::string& authz_url) {
    auto az = client_.get_authorization(authz_url);
    if (!az) return az.error();
    if (az->status == "valid") return {};  // reused authorization (§7.1.4)
    if (az->status != "pending") {
        return reasoned(Errc::kInvalidArgument,
                        "authorization for " + az->identifier + " is " + az->status,
                        Reason::kChallenge);
    }
    Solver* solver = nullptr;
    const Challenge* ch = nullptr;
    for (Solver* s : solvers_) {
        if (az->wildcard && std::string_view(s->type()) != "dns-01") continue;
        if ((ch = az->find(s->type())) != nullptr) {
            solver = s;
            break;
        }
    }
    if (solver == nullptr) {
        std::string offered;
        for (const auto& c : az->challenges) offered += (offered.empty() ? "" : ", ") + c.type;
        return reasoned(
            Errc::kInvalidArgument,
            "no usable challenge for " + az->identifier + " (CA offers " + offered + ")",
            Reason::kChallenge);
    }
    if (!valid_token(ch->token))
        return reasoned(Errc::kInvalidArgument, "challenge token is malformed", Reason::kCaError);
    std::string domain = (az->wildcard ? "*." : "") + az->identifier;
    std::string ka = key_authorization(ch->token, key_);
    auto log = core::logger("acme");
    log->info("challenge start name={} type={}", domain, solver->type());

    Result<void> out;
    if (auto p = solver->present(domain, ch->token, ka); !p) {
        out = p.error();
    } else if (auto r = client_.respond(ch->url); !r) {
        out = r.error();
    } else {
        auto deadline = std::chrono::steady_clock::now() + opts_.poll_timeout;
        for (;;) {
            if (auto p = pause(); !p) {
                out = p.error();
                break;
            }
            auto cur = client_.get_authorization(authz_url);
            if (!cur) {
                out = cur.error();
                break;
            }
            if (cur->status == "valid") break;
            if (cur->status != "pending") {
                auto prob = cur->first_error();
                out = reasoned(Errc::kInvalidArgument,
                               std::string(solver->type()) + " for " + domain + " failed: " +
                                   (prob ? prob->to_string() : "authorization " + cur->status),
                               Reason::kChallenge);
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                out = reasoned(Errc::kUnavailable,
                               "authorization for " + domain + " still pending after " +
                                   std::to_string(opts_.poll_timeout.count()) + "s",
                               Reason::kChallenge);
                break;
            }
        }
    }
    solver->cleanup(domain, ch->token, ka);
    return out;
}

Result<Order> Issuer::poll_order(const std::string& url, std::initializer_list<const char*> until) {
    auto deadline = std::chrono::steady_clock::now() + opts_.poll_timeout;
    for (;;) {
        auto o = client_.get_order(url);
        if (!o) return o.error();
        for (const char* s : until)
            if (o->status == s) return o;
        if (o->status == "invalid") {
            return reasoned(Errc::kInvalidArgument,
                            "order became invalid" + (o->error ? ": " + o->error->to_string() : ""),
                            Reason::kCaError);
        }
        if (o->status != "pending" && o->status != "processing" && o->status != "ready" &&
            o->status != "valid")
            return reasoned(Errc::kInvalidArgument, "order has unknown status " + o->status,
                            Reason::kCaError);
        if (std::chrono::steady_clock::now() >= deadline)
            return reasoned(Errc::kUnavailable,
                            "order still " + o->status + " after " +
                                std::to_string(opts_.poll_timeout.count()) + "s",
                            Reason::kCaError);
        MOAT_TRY(pause());
    }
}

Result<Issued> Issuer::issue(const std::vector<std::string>& names, const std::string& replaces) {
    if (names.empty()) return make_error(Errc::kInvalidArgument, "order without names");
    auto no = client_.new_order(names, replaces);
    if (!no) return no.error();
    Order order = std::move(no->order);
    const std::string order_url = no->url;

    if (order.status == "pending") {
        for (const auto& az : order.authorizations) MOAT_TRY(authorize(az));
        auto ready = poll_order(order_url, {"ready", "valid"});
        if (!ready) return ready.error();
        order = std::move(*ready);
    }
    if (order.status == "invalid")
        return reasoned(Errc::kInvalidArgument,
                        "order is invalid" + (order.error ? ": " + order.error->to_string() : ""),
                        Reason::kCaError);

    // A fresh key per certificate (tls.md §3.1).
    auto key = opts_.rsa ? internal::generate_rsa(2048) : internal::generate_p256();
    if (!key) return key.error();
    if (order.status == "ready") {
        auto csr = make_csr(key->get(), names);
        if (!csr) return csr.error();
        auto fin = client_.finalize(order.finalize, *csr);
        if (!fin) return fin.error();
        order = std::move(*fin);
    }
    if (order.status != "valid") {
        auto v = poll_order(order_url, {"valid"});
        if (!v) return v.error();
        order = std::move(*v);
    }
    if (order.certificate.empty())
        return reasoned(Errc::kInvalidArgument, "valid order without a certificate URL",
                        Reason::kCaError);
    auto chain = client_.download(order.certificate);
    if (!chain) return chain.error();
    auto key_pem = internal::private_key_pem(key->get());
    if (!key_pem) return key_pem.error();
    // The chain must be for our key and cover what we asked for, or it is not served.
    auto ck = tls::load_cert_key_pem(*chain, *key_pem);
    if (!ck)
        return reasoned(Errc::kInvalidArgument,
                        "downloaded certificate unusable: " + ck.error().detail, Reason::kCaError);
    for (const auto& n : names) {
        if (!(*ck)->covers(lower(n)))
            return reasoned(Errc::kInvalidArgument, "downloaded certificate does not cover " + n,
                            Reason::kCaError);
    }
    return Issued{std::move(*chain), std::move(*key_pem)};
}

}  // namespace moat::acme

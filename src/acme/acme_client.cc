#include "acme/acme_client.h"

namespace moat::acme {
namespace {

using json = nlohmann::json;

Error with_reason(Errc code, std::string detail, Reason r) {
    Error e = make_error(code, std::move(detail));
    e.reason = static_cast<int>(r);
    return e;
}

bool is_2xx(int s) { return s >= 200 && s < 300; }

}  // namespace

Result<edge::ClientResponse> AcmeClient::send(edge::ClientRequest req) {
    auto res = transport_(req);
    if (!res) {
        Error e = res.error();
        if (e.reason == 0 && e.code == Errc::kUnavailable)
            e.reason = static_cast<int>(Reason::kUnreachable);
        return e;
    }
    if (auto n = res->header("replay-nonce"); !n.empty() && n.size() < 256) {
        nonces_.emplace_back(n);
        if (nonces_.size() > 8) nonces_.pop_front();
    }
    if (auto ra = res->header("retry-after"); !ra.empty()) {
        retry_after_ = parse_retry_after(ra, now());
    }
    return res;
}

Error AcmeClient::problem_error(const edge::ClientResponse& res, const std::string& what) {
    Problem p = parse_problem(res.body, res.status);
    std::string msg = what + ": " + p.to_string();
    if (res.status == 429 || p.is("rateLimited")) {
        if (retry_after_) msg += " (retry after " + std::to_string(retry_after_->count()) + "s)";
        return with_reason(Errc::kUnavailable, msg, Reason::kRateLimited);
    }
    if (res.status >= 500) return with_reason(Errc::kUnavailable, msg, Reason::kCaError);
    if (p.is("unauthorized") || p.is("rejectedIdentifier") || p.is("caa"))
        return with_reason(Errc::kDenied, msg, Reason::kCaError);
    return with_reason(Errc::kInvalidArgument, msg, Reason::kCaError);
}

Result<const Directory*> AcmeClient::directory() {
    if (dir_) return &*dir_;
    edge::ClientRequest req;
    req.url = directory_url_;
    auto res = send(req);
    if (!res) {
        Error e = res.error();
        e.detail = "ACME directory: " + e.detail;  // the client's message names the URL
        if (e.code == Errc::kInvalidArgument) e.reason = static_cast<int>(Reason::kBadDirectory);
        return e;
    }
    if (res->status != 200) {
        return with_reason(Errc::kInvalidArgument,
                           "ACME directory " + directory_url_ + ": HTTP " +
                               std::to_string(res->status) + " (is the directory URL right?)",
                           Reason::kBadDirectory);
    }
    auto d = parse_directory(res->body);
    if (!d) {
        return with_reason(Errc::kInvalidArgument,
                           "ACME directory " + directory_url_ + ": " + d.error().detail,
                           Reason::kBadDirectory);
    }
    dir_ = std::move(*d);
    return &*dir_;
}

Result<std::string> AcmeClient::nonce() {
    if (!nonces_.empty()) {
        std::string n = std::move(nonces_.back());
        nonces_.pop_back();
        return n;
    }
    auto d = directory();
    if (!d) return d.error();
    edge::ClientRequest req;
    req.method = "HEAD";
    req.url = (*d)->new_nonce;
    auto res = send(req);
    if (!res) return res.error();
    if (nonces_.empty()) {
        return with_reason(
            Errc::kInvalidArgument,
            "newNonce: no Replay-Nonce header (HTTP " + std::to_string(res->status) + ")",
            Reason::kCaError);
    }
    std::string n = std::move(nonces_.back());
    nonces_.pop_back();
    return n;
}

Result<edge::ClientResponse> AcmeClient::post(const std::string& url,
                                              const std::optional<json>& payload, bool use_jwk,
                                              const std::string& accept) {
    if (!key_) return make_error(Errc::kInternal, "ACME request before the account key was set");
    for (int attempt = 0;; ++attempt) {
        auto n = nonce();
        if (!n) return n.error();
        auto body = sign_request(*key_, url, *n, use_jwk ? std::string() : kid_, payload);
        if (!body) return body.error();
        edge::ClientRequest req;
        req.method = "POST";
        req.url = url;
        req.body = std::move(*body);
        req.headers.emplace_back("Content-Type", "application/jose+json");
        if (!accept.empty()) req.headers.emplace_back("Accept", accept);
        retry_after_.reset();
        auto res = send(std::move(req));
        if (!res) return res.error();
        if (is_2xx(res->status)) return res;
        // §6.5: a badNonce answer carries a fresh nonce; retry with it.
        if (res->status == 400 && parse_problem(res->body, 400).is("badNonce") &&
            attempt < kMaxNonceRetries)
            continue;
        return problem_error(*res, "POST " + url);
    }
}

Result<std::string> AcmeClient::register_account(const AccountKey& key,
                                                 const std::vector<std::string>& contact,
                                                 const std::string& eab_kid,
                                                 const std::string& eab_hmac_key) {
    key_ = key;
    auto d = directory();
    if (!d) return d.error();
    json payload = {{"termsOfServiceAgreed", true}};
    if (!contact.empty()) payload["contact"] = contact;
    if (!eab_kid.empty()) {
        auto eab = external_account_binding(key, eab_kid, eab_hmac_key, (*d)->new_account);
        if (!eab) return eab.error();
        payload["externalAccountBinding"] = std::move(*eab);
    } else if ((*d)->external_account_required) {
        return with_reason(Errc::kInvalidArgument,
                           "the CA requires External Account Binding: set acme.eab_kid and "
                           "acme.eab_hmac_key",
                           Reason::kCaError);
    }
    auto res = post((*d)->new_account, payload, /*use_jwk=*/true);
    if (!res) return res.error();
    std::string loc(res->header("location"));
    if (loc.empty() || !(loc.starts_with("https://") || loc.starts_with("http://")))
        return with_reason(Errc::kInvalidArgument, "newAccount: no account URL in Location",
                           Reason::kCaError);
    kid_ = loc;
    return loc;
}

void AcmeClient::set_account(const AccountKey& key, std::string account_url) {
    key_ = key;
    kid_ = std::move(account_url);
}

Result<AcmeClient::NewOrder> AcmeClient::new_order(const std::vector<std::string>& names,
                                                   const std::string& replaces) {
    auto d = directory();
    if (!d) return d.error();
    json ids = json::array();
    for (const auto& n : names) ids.push_back({{"type", "dns"}, {"value", n}});
    json payload = {{"identifiers", ids}};
    if (!replaces.empty() && !(*d)->renewal_info.empty()) payload["replaces"] = replaces;
    auto res = post((*d)->new_order, payload);
    if (!res) return res.error();
    auto o = parse_order(res->body);
    if (!o)
        return with_reason(Errc::kInvalidArgument, "newOrder: " + o.error().detail,
                           Reason::kCaError);
    std::string loc(res->header("location"));
    if (loc.empty())
        return with_reason(Errc::kInvalidArgument, "newOrder: no order URL", Reason::kCaError);
    return NewOrder{std::move(*o), loc};
}

Result<Order> AcmeClient::get_order(const std::string& url) {
    auto res = post(url, std::nullopt);
    if (!res) return res.error();
    auto o = parse_order(res->body);
    if (!o) return with_reason(Errc::kInvalidArgument, o.error().detail, Reason::kCaError);
    return o;
}

Result<Authorization> AcmeClient::get_authorization(const std::string& url) {
    auto res = post(url, std::nullopt);
    if (!res) return res.error();
    auto a = parse_authorization(res->body);
    if (!a) return with_reason(Errc::kInvalidArgument, a.error().detail, Reason::kCaError);
    return a;
}

Result<void> AcmeClient::respond(const std::string& challenge_url) {
    auto res = post(challenge_url, json::object());
    if (!res) return res.error();
    return {};
}

Result<Order> AcmeClient::finalize(const std::string& finalize_url, const std::string& csr_der) {
    auto res = post(finalize_url, json{{"csr", internal::b64url(csr_der)}});
    if (!res) return res.error();
    auto o = parse_order(res->body);
    if (!o)
        return with_reason(Errc::kInvalidArgument, "finalize: " + o.error().detail,
                           Reason::kCaError);
    return o;
}

Result<std::string> AcmeClient::download(const std::string& certificate_url) {
    auto res = post(certificate_url, std::nullopt, false, "application/pem-certificate-chain");
    if (!res) return res.error();
    if (res->body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        return with_reason(Errc::kInvalidArgument, "certificate download: not a PEM chain",
                           Reason::kCaError);
    return std::move(res->body);
}

Result<RenewalWindow> AcmeClient::renewal_info(const std::string& cert_id) {
    auto d = directory();
    if (!d) return d.error();
    if ((*d)->renewal_info.empty()) return make_error(Errc::kNotFound, "CA offers no renewalInfo");
    std::string base = (*d)->renewal_info;
    if (!base.ends_with('/')) base += '/';
    edge::ClientRequest req;
    req.url = base + cert_id;
    retry_after_.reset();
    auto res = send(req);
    if (!res) return res.error();
    if (res->status != 200) return problem_error(*res, "renewalInfo");
    return parse_renewal_info(res->body);
}

}  // namespace moat::acme

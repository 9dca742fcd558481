#include "mail/policy_router.h"

#include "mail/grammar.h"

namespace moat::mail {
namespace {

std::shared_ptr<edge::HeaderBlock> base_headers() {
    auto b = std::make_shared<edge::HeaderBlock>();
    b->add("x-content-type-options", "nosniff");
    return b;
}

}  // namespace

PolicyRouter::PolicyRouter(const std::vector<MailDomain>& domains,
                           std::shared_ptr<edge::Handler> next)
    : next_(std::move(next)) {
    for (const auto& d : domains) {
        Site s;
        s.host = "mta-sts." + d.domain;
        s.body = std::make_shared<const std::string>(grammar::render_policy(d));
        auto ok = base_headers();
        // RFC 8461 §3.2: the media type MUST be text/plain; charset is one of the two allowed.
        ok->add("content-type", "text/plain; charset=utf-8");
        // Senders must not use HTTP caches (§3.3); a proxy in front may, briefly (§8.2).
        ok->add("cache-control", "max-age=60");
        ok->add("strict-transport-security", "max-age=63072000");
        s.ok = std::move(ok);
        sites_.emplace(s.host, std::move(s));
    }
    auto nf = base_headers();
    nf->add("content-type", "text/plain; charset=utf-8");
    nf->add("cache-control", "no-store");
    not_found_ = nf;
    not_found_body_ = std::make_shared<const std::string>("not found\n");
    auto na = base_headers();
    na->add("content-type", "text/plain; charset=utf-8");
    na->add("allow", "GET, HEAD");
    not_allowed_ = na;
    https_only_ = nf;
    https_only_body_ = std::make_shared<const std::string>(
        "MTA-STS policies are served over HTTPS only (RFC 8461 section 3.3)\n");
}

std::string PolicyRouter::policy_of(const std::string& domain) const {
    auto it = sites_.find("mta-sts." + domain);
    return it == sites_.end() ? std::string() : *it->second.body;
}

void PolicyRouter::handle(const edge::Request& req, edge::Response& res) {
    auto it = sites_.find(std::string(req.host));
    if (it == sites_.end()) {
        if (next_) return next_->handle(req, res);
        res.status = 404;
        res.fixed = not_found_;
        res.body.bytes = not_found_body_;
        res.body.length = not_found_body_->size();
        res.result = edge::ResultType::kError;
        return;
    }
    const Site& s = it->second;
    res.log_site = s.host;
    res.log_env = "production";
    res.content_type = "text/plain";
    auto send = [&](int status, const std::shared_ptr<const edge::HeaderBlock>& h,
                    const std::shared_ptr<const std::string>& body) {
        res.status = status;
        res.fixed = h;
        res.body.bytes = body;
        res.body.length = body->size();
        res.result = status == 200 ? edge::ResultType::kHit : edge::ResultType::kError;
    };
    // Plain HTTP gets neither the policy nor a redirect: RFC 8461 §3.3 forbids following
    // redirects, and a policy fetched without TLS would prove nothing.
    // The one exception: an ACME http-01 challenge for the policy host's own certificate
    // (RFC 8555 §8.3) is answered by the next handler, which serves challenges before any
    // HTTP-port policy.
    if (!req.secure && next_ && req.path.starts_with("/.well-known/acme-challenge/"))
        return next_->handle(req, res);
    if (!req.secure) return send(403, https_only_, https_only_body_);
    if (req.method != edge::Method::kGet && req.method != edge::Method::kHead)
        return send(405, not_allowed_, not_found_body_);
    if (req.path != kPolicyPath) return send(404, not_found_, not_found_body_);
    send(200, s.ok, s.body);
}

}  // namespace moat::mail

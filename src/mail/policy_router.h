#pragma once
// Serves MTA-STS policy sites in front of the ordinary sites. A request whose Host is
// mta-sts.<domain> of a configured policy domain is answered here, exactly as RFC 8461 §3.3
// wants: over HTTPS only, GET/HEAD of /.well-known/mta-sts.txt gives 200 text/plain with the
// policy, every other path 404, never a redirect. Other hosts go to `next` (the site table).
// Immutable after construction; handle() is thread-safe and does no I/O.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "edge/handler.h"
#include "mail/settings.h"

namespace moat::mail {

inline constexpr std::string_view kPolicyPath = "/.well-known/mta-sts.txt";

class PolicyRouter : public edge::Handler {
public:
    // `next` may be null (then other hosts get 404).
    PolicyRouter(const std::vector<MailDomain>& domains, std::shared_ptr<edge::Handler> next);
    void handle(const edge::Request& req, edge::Response& res) override;

    // The policy text served for `domain` (tests, `moat dns`), or empty.
    std::string policy_of(const std::string& domain) const;

private:
    struct Site {
        std::string host;  // mta-sts.<domain>
        std::shared_ptr<const std::string> body;
        std::shared_ptr<const edge::HeaderBlock> ok;
    };
    std::unordered_map<std::string, Site> sites_;  // by policy host
    std::shared_ptr<const edge::HeaderBlock> not_found_, not_allowed_, https_only_;
    std::shared_ptr<const std::string> not_found_body_, https_only_body_;
    std::shared_ptr<edge::Handler> next_;
};

}  // namespace moat::mail

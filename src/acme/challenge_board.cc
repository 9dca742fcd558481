#include "acme/challenge_board.h"

#include <cctype>

namespace moat::acme {
namespace {

constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

// Answers http-01 validation requests. Holds the board through a shared_ptr: the edge may keep
// the handler after the service is gone (a reload in flight).
class Http01Handler : public edge::Handler {
public:
    explicit Http01Handler(std::shared_ptr<const ChallengeBoard> board)
        : board_(std::move(board)) {}

    void handle(const edge::Request& req, edge::Response& res) override {
        auto block = std::make_shared<edge::HeaderBlock>();
        block->add("cache-control", "no-store");
        block->add("x-content-type-options", "nosniff");
        res.result = edge::ResultType::kError;
        if (req.method != edge::Method::kGet && req.method != edge::Method::kHead) {
            res.status = 405;
            block->add("allow", "GET, HEAD");
            res.fixed = std::move(block);
            return;
        }
        std::string_view token = req.path.substr(std::min(req.path.size(), kPrefix.size()));
        std::string authz = req.path.starts_with(kPrefix) ? board_->http01(token) : std::string();
        if (authz.empty()) {
            res.status = 404;
            res.fixed = std::move(block);
            return;
        }
        // RFC 8555 §8.3: the body is the key authorization; the CA tolerates trailing space,
        // so send it exactly.
        block->add("content-type", "text/plain");
        res.content_type = "text/plain";
        res.status = 200;
        res.result = edge::ResultType::kMiss;
        auto body = std::make_shared<const std::string>(std::move(authz));
        res.body.bytes = body;
        res.body.length = body->size();
        res.fixed = std::move(block);
    }

private:
    std::shared_ptr<const ChallengeBoard> board_;
};

}  // namespace

void ChallengeBoard::add_http01(const std::string& token, const std::string& key_authz) {
    std::lock_guard lock(mu_);
    http_[token] = key_authz;
}

void ChallengeBoard::remove_http01(const std::string& token) {
    std::lock_guard lock(mu_);
    http_.erase(token);
}

void ChallengeBoard::add_alpn(const std::string& name, std::shared_ptr<const tls::CertKey> cert) {
    std::lock_guard lock(mu_);
    alpn_[lower(name)] = std::move(cert);
}

void ChallengeBoard::remove_alpn(const std::string& name) {
    std::lock_guard lock(mu_);
    alpn_.erase(lower(name));
}

std::string ChallengeBoard::http01(std::string_view token) const {
    std::lock_guard lock(mu_);
    auto it = http_.find(token);
    return it == http_.end() ? std::string() : it->second;
}

std::shared_ptr<const tls::CertKey> ChallengeBoard::alpn(std::string_view name) const {
    std::string key = lower(name);
    std::lock_guard lock(mu_);
    auto it = alpn_.find(key);
    return it == alpn_.end() ? nullptr : it->second;
}

std::shared_ptr<edge::Handler> ChallengeBoard::http_handler(
    std::shared_ptr<const ChallengeBoard> board) {
    return std::make_shared<Http01Handler>(std::move(board));
}

tls::ServerContext::AlpnChallengeProvider ChallengeBoard::alpn_provider(
    std::shared_ptr<const ChallengeBoard> board) {
    return [board = std::move(board)](std::string_view name) { return board->alpn(name); };
}

}  // namespace moat::acme

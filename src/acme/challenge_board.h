#pragma once
// The challenges moat is answering right now, and the two edge seams that read them:
// an edge::Handler for http-01 (RFC 8555 §8.3, wired as SiteTableOptions::http_challenge) and
// the tls-alpn-01 provider (RFC 8737, ServerContext::set_alpn_challenge_provider).
//
// Written by the Manager's thread, read by edge workers: every method is thread-safe. Readers
// take a mutex, but only for the rare requests to /.well-known/acme-challenge/ and for
// handshakes that offer only "acme-tls/1", never on the ordinary request path.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "edge/handler.h"
#include "tls/cert_key.h"
#include "tls/server_context.h"

namespace moat::acme {

class ChallengeBoard {
public:
    // http-01: GET /.well-known/acme-challenge/<token> answers `key_authz` as text/plain.
    void add_http01(const std::string& token, const std::string& key_authz);
    void remove_http01(const std::string& token);
    // tls-alpn-01: a handshake for `name` with ALPN exactly acme-tls/1 gets `cert`.
    void add_alpn(const std::string& name, std::shared_ptr<const tls::CertKey> cert);
    void remove_alpn(const std::string& name);

    // The edge seams; each keeps `board` alive for as long as the edge holds it.
    static std::shared_ptr<edge::Handler> http_handler(std::shared_ptr<const ChallengeBoard> board);
    static tls::ServerContext::AlpnChallengeProvider alpn_provider(
        std::shared_ptr<const ChallengeBoard> board);

    // For the handler: the key authorization for `token`, or empty.
    std::string http01(std::string_view token) const;
    std::shared_ptr<const tls::CertKey> alpn(std::string_view name) const;

private:
    mutable std::mutex mu_;
    std::map<std::string, std::string, std::less<>> http_;
    std::map<std::string, std::shared_ptr<const tls::CertKey>, std::less<>> alpn_;
};

}  // namespace moat::acme

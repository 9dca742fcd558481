#pragma once
// The RFC 8555 protocol layer: directory, nonces, signed POSTs and the resources they return.
// It knows nothing of challenges, storage or scheduling (Issuer and Manager do that).
//
// Blocking (every call is a round trip through the Transport); not thread-safe: one owner, the
// Manager's thread. Responses are untrusted: every body is parsed by acme/messages.h and every
// failure is an Error, never an exception. Errors carry a Reason in Error::reason.

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "acme/jws.h"
#include "acme/messages.h"
#include "core/result.h"
#include "edge/client.h"

namespace moat::acme {

enum class Reason : int {
    kNone = 0,
    kRateLimited,   // HTTP 429 / rateLimited; retry_after() says when
    kBadDirectory,  // the directory URL did not give a directory
    kChallenge,     // a challenge or authorization ended invalid
    kCaError,       // any other problem document or unexpected answer from the CA
    kUnreachable,   // no HTTP answer at all
};

// Sends one HTTP request; edge::HttpClient::fetch in production, canned answers in tests.
using Transport = std::function<Result<edge::ClientResponse>(const edge::ClientRequest&)>;

class AcmeClient {
public:
    AcmeClient(std::string directory_url, Transport transport)
        : directory_url_(std::move(directory_url)), transport_(std::move(transport)) {}

    // GET the directory once and keep it. Errors: kUnavailable (kUnreachable) when the CA does
    // not answer, kInvalidArgument (kBadDirectory) when the answer is not a directory.
    Result<const Directory*> directory();

    // newAccount (§7.3): creates or finds the account of `key`; remembers its URL as the kid
    // for later requests. `eab_kid` non-empty adds the External Account Binding.
    Result<std::string> register_account(const AccountKey& key,
                                         const std::vector<std::string>& contact,
                                         const std::string& eab_kid,
                                         const std::string& eab_hmac_key);
    void set_account(const AccountKey& key, std::string account_url);

    struct NewOrder {
        Order order;
        std::string url;
    };
    // newOrder (§7.4) for dns identifiers; `replaces` is an ARI certID (RFC 9773 §5) or empty.
    Result<NewOrder> new_order(const std::vector<std::string>& names, const std::string& replaces);
    Result<Order> get_order(const std::string& url);
    Result<Authorization> get_authorization(const std::string& url);
    // §7.5.1: POST {} to the challenge URL: "ready, validate now".
    Result<void> respond(const std::string& challenge_url);
    // §7.4: POST {csr} to finalize; the order comes back (processing or valid).
    Result<Order> finalize(const std::string& finalize_url, const std::string& csr_der);
    // §7.4.2: the PEM chain, leaf first.
    Result<std::string> download(const std::string& certificate_url);
    // RFC 9773 §4.1: GET renewalInfo/<certID>. kNotFound when the directory offers no ARI.
    Result<RenewalWindow> renewal_info(const std::string& cert_id);

    // Retry-After of the last response that had one (polling hints, 429, 503).
    std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }
    std::chrono::system_clock::time_point now() const { return std::chrono::system_clock::now(); }

    // Limits on badNonce retries per request (§6.5: "clients SHOULD retry").
    static constexpr int kMaxNonceRetries = 5;

private:
    Result<edge::ClientResponse> send(edge::ClientRequest req);
    Result<std::string> nonce();
    // Signed POST to `url`; payload nullopt = POST-as-GET. Retries on badNonce. Returns the
    // response when its status is 2xx, otherwise the problem as an Error.
    Result<edge::ClientResponse> post(const std::string& url,
                                      const std::optional<nlohmann::json>& payload,
                                      bool use_jwk = false, const std::string& accept = "");
    Error problem_error(const edge::ClientResponse& res, const std::string& what);

    std::string directory_url_;
    Transport transport_;
    std::optional<Directory> dir_;
    std::deque<std::string> nonces_;
    std::optional<AccountKey> key_;
    std::string kid_;
    std::optional<std::chrono::seconds> retry_after_;
};

}  // namespace moat::acme

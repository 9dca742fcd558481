#pragma once
// The admin API's wire helpers: replies and the error table of docs/admin-api.md, path and
// query decoding, bounded body reads. Private to admin/.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "edge/service.h"

namespace moat::admin::internal {

using Json = nlohmann::json;

struct Reply {
    int status = 200;
    Json body = Json::object();
    std::string code;                         // the error code, empty on success
    std::optional<std::int64_t> retry_after;  // seconds, 429
    bool bad_token = false;  // 401 for the token (WWW-Authenticate: error="invalid_token")
};

Reply ok(Json body, int status = 200);
// {"error": {"code", "message"}} with the status.
Reply fail(int status, std::string code, std::string message);
// An Error from the release service, the store, principals or the audit log, by
// docs/admin-api.md's table: release::Reason first (when its Errc agrees), then the Errc.
// Details of 5xx errors are logged, not sent.
Reply fail(const Error& e);

// RFC 3986 §2.1 percent-decoding of one path segment or query value; kInvalidArgument for a
// bad escape or a NUL byte. plus_is_space for query strings (form encoding).
Result<std::string> percent_decode(std::string_view s, bool plus_is_space = false);
// "/v1/a/b%2Fc" -> {"v1", "a", "b/c"}; nullopt when a segment does not decode.
std::optional<std::vector<std::string>> split_path(std::string_view path);
// The decoded value of `name` in a query string; nullopt when absent or undecodable.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// The whole body, at most `max` bytes: kTooLarge beyond, kInvalidArgument or kUnavailable
// when the peer fails.
Result<std::string> read_body(edge::ServiceBody& body, std::uint64_t max);

// Sends the reply as JSON (and the headers its status needs).
void send(edge::ServiceResponse& res, const Reply& r);

}  // namespace moat::admin::internal

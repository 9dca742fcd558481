#pragma once
// The release commands' client of the admin API (docs/admin-api.md): JSON calls, streamed
// file uploads (PUT) and DELETE over libcurl. edge::HttpClient holds bodies in memory and
// knows only GET/HEAD/POST, so this client is its own, with the same security floor: https
// only, TLS 1.2 or newer, the peer's certificate and host name verified (optionally against
// the profile's CA file), no redirects, bounded response bodies, timeouts.
//
// Blocking; one instance may be used from several threads at once (each call has its own
// curl handle and connection).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "cli/credentials.h"
#include "core/result.h"

namespace moat::cli {

struct ApiResponse {
    int status = 0;
    std::string body;         // the JSON text as received
    std::string code;         // error.code of an error answer ("NoSuchSite" ...), else ""
    std::string message;      // error.message of an error answer
    std::string retry_after;  // Retry-After of a 429
    bool ok() const { return status >= 200 && status < 300; }
    // "NoSuchSite: no site example.org (404)" for an error answer.
    std::string error_text() const;
};

// "a b/ü" -> "a%20b%2F%C3%BC": one path segment (RFC 3986 §2.3: only unreserved characters
// stay as they are).
std::string percent_encode_segment(std::string_view s);
// As percent_encode_segment, keeping '/' between segments (a file's relative path).
std::string percent_encode_path(std::string_view s);

// Exit codes of the release commands for a failure: 2 when the input named something wrong or
// unknown (HTTP 400 and 404; kInvalidArgument and kNotFound before any call), else 1.
int exit_code_for(const ApiResponse& r);
int exit_code_for(const Error& e);

class AdminClient {
public:
    explicit AdminClient(Profile profile);

    // One call: `method` GET, POST or DELETE; `path` starts with "/v1/" (already encoded);
    // `json` is the request body for POST. `otp`, when not empty, is sent as X-Moat-OTP.
    // Errors: kUnavailable when the server cannot be reached or TLS fails (libcurl's reason),
    // kTooLarge for an answer above 64 MiB. Any HTTP status is a value.
    Result<ApiResponse> call(std::string_view method, const std::string& path,
                             const std::string& json = "", const std::string& otp = "") const;

    // PUT of a local file, streamed from disk (never held in memory). `on_bytes` is called
    // with each chunk's size as it is read for sending (from the calling thread).
    Result<ApiResponse> put_file(const std::string& path, const std::string& file,
                                 std::uint64_t size, const std::string& sha256,
                                 const std::string& content_type,
                                 const std::function<void(std::uint64_t)>& on_bytes) const;

    const Profile& profile() const { return profile_; }

private:
    Profile profile_;
};

}  // namespace moat::cli

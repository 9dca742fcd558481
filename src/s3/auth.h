#pragma once
// S3 request authentication: AWS Signature Version 4 in the Authorization header or in a
// presigned URL's query, and the request body as the store pulls it (aws-chunked framing
// removed, chunk signatures, payload hash, Content-MD5 and x-amz-checksum-* verified).
// Reference: AWS S3 API Reference "Authenticating Requests
// (AWS Signature Version 4)".
//
// Pure functions over the request plus one key lookup; they block only as long as `find` does
// (the caller runs them on the control-plane's pool thread). Secrets never appear in errors.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "edge/service.h"
#include "s3/errors.h"
#include "store/store.h"

namespace moat::s3 {

// What x-amz-content-sha256 announced (store.md §2.1, §2.3).
enum class PayloadMode {
    kUnsigned,                  // UNSIGNED-PAYLOAD (and every presigned URL)
    kSignedHash,                // hex SHA-256 of the body: verified while it is read
    kStreamingSigned,           // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
    kStreamingSignedTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
    kStreamingUnsignedTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

struct AuthResult {
    bool anonymous = false;  // no credentials at all
    store::KeyRecord key;    // who signed (secret included; never log it)
    PayloadMode payload = PayloadMode::kUnsigned;
    std::string payload_sha256;  // lower-case hex, when kSignedHash
    // What aws-chunked chunk signatures chain from: the request's signature (hex), the SigV4
    // signing key (32 raw bytes), "yyyymmdd/region/s3/aws4_request" and the x-amz-date.
    std::string seed_signature, signing_key, scope, amz_date;
    bool presigned = false;
};

// The key of an access key id; kNotFound when there is none (-> InvalidAccessKeyId).
using FindKey = std::function<Result<store::KeyRecord>(std::string_view access_key_id)>;

// The most a request's x-amz-date may differ from the server's clock (AWS and MinIO: 15 min).
inline constexpr std::chrono::minutes kMaxClockSkew{15};
// The longest X-Amz-Expires of a presigned URL: 7 days.
inline constexpr std::chrono::seconds kMaxPresignExpiry{604800};

// Checks the Authorization header (AWS4-HMAC-SHA256) or the presigned query (X-Amz-*): the
// clock skew, presigned expiry, the credential scope (any region, service s3, aws4_request),
// the signed headers (host required) and the signature (constant-time compare).
// Errors (s3_error): SignatureDoesNotMatch, InvalidAccessKeyId, AuthorizationHeaderMalformed,
// AuthorizationQueryParametersError, RequestTimeTooSkewed, ExpiredPresignedRequest (expired
// presigned URL; AccessDenied on the wire), AccessDenied (presigned URL not valid yet),
// InvalidRequest (SigV2, several mechanisms), InvalidArgument (bad x-amz-content-sha256),
// NotImplemented (SigV4a). Errors of `find` other than kNotFound are returned as they are.
// No credentials at all: AuthResult{anonymous = true}.
Result<AuthResult> authenticate(const edge::ServiceRequest& req, const FindKey& find,
                                std::chrono::system_clock::time_point now);

// The request body as the store pulls it: aws-chunked framing removed (every form in
// store.md §2.3), each chunk signature and the trailer signature verified, then
// x-amz-decoded-content-length, x-amz-content-sha256 (kSignedHash), Content-MD5 and
// x-amz-checksum-* (header or trailer). Any mismatch or truncation is an error from read()
// (s3_error: BadDigest, InvalidDigest, XAmzContentSHA256Mismatch, SignatureDoesNotMatch,
// IncompleteBody, RequestTimeout, InvalidRequest ...); the store then discards what it wrote.
// The final read() returns 0 only after every check passed.
class RequestBody : public store::BodySource {
public:
    // Verified x-amz-checksum-* values after the body was read to its end: algorithm
    // ("crc32", "crc32c", "sha1", "sha256", "crc64nvme") -> base64. Empty before then.
    virtual store::Headers checksums() const = 0;
    // Decoded bytes returned so far.
    virtual std::uint64_t bytes_read() const = 0;
};

// `body` and `req` must outlive the returned object (it reads `body` and keeps no copy of the
// headers it needs beyond what it parses here). Header errors surface on the first read().
std::unique_ptr<RequestBody> make_request_body(edge::ServiceBody& body,
                                               const edge::ServiceRequest& req,
                                               const AuthResult& auth);

// A presigned URL path+query ("/bucket/key?X-Amz-Algorithm=...&X-Amz-Signature=...") for tests
// and tools: signs method, `path` (percent-encoded as it will be sent), the extra `query`
// (already encoded, may be empty) and the host header, with UNSIGNED-PAYLOAD.
std::string presign_url(std::string_view method, std::string_view host, std::string_view path,
                        std::string_view query, std::string_view access_key_id,
                        std::string_view secret, std::string_view region,
                        std::chrono::system_clock::time_point when, std::chrono::seconds expires);

}  // namespace moat::s3

#pragma once
// S3 error codes (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). Errors
// inside the s3 part carry one in Error::reason; error_response() in one place turns any Error
// (store errors included) into the S3 XML body and HTTP status.

#include <string>

#include "core/result.h"

namespace moat::s3 {

enum class Code : int {
    kNone = 0,
    kAccessDenied,                       // 403
    kAuthorizationHeaderMalformed,       // 400
    kAuthorizationQueryParametersError,  // 400
    kBadDigest,                          // 400: Content-MD5 or x-amz-checksum-* mismatch
    kBucketAlreadyOwnedByYou,            // 409
    kBucketNotEmpty,                     // 409
    kEntityTooLarge,                     // 400
    kEntityTooSmall,                     // 400
    kExpiredPresignedRequest,            // 403 AccessDenied "Request has expired"
    kIncompleteBody,                     // 400
    kInternalError,                      // 500
    kInvalidAccessKeyId,                 // 403
    kInvalidArgument,                    // 400
    kInvalidBucketName,                  // 400
    kInvalidDigest,                      // 400: Content-MD5 not valid base64 of 16 bytes
    kInvalidPart,                        // 400
    kInvalidPartOrder,                   // 400
    kInvalidRange,                       // 416
    kInvalidRequest,                     // 400
    kKeyTooLongError,                    // 400
    kMalformedXML,                       // 400
    kMethodNotAllowed,                   // 405
    kMissingContentLength,               // 411
    kMissingSecurityHeader,              // 400
    kNoSuchBucket,                       // 404
    kNoSuchKey,                          // 404
    kNoSuchLifecycleConfiguration,       // 404
    kNoSuchUpload,                       // 404
    kNoSuchVersion,                      // 404
    kNotImplemented,                     // 501
    kPreconditionFailed,                 // 412
    kRequestTimeTooSkewed,               // 403
    kRequestTimeout,                     // 400
    kServiceUnavailable,                 // 503
    kSignatureDoesNotMatch,              // 403
    kSlowDown,                           // 503
    kXAmzContentSHA256Mismatch,          // 400
    kInvalidStorageClass,                // 400
    kNotModified,                        // 304 (no body)
};

struct CodeInfo {
    const char* name;  // "NoSuchKey"
    int status;        // 404
};
const CodeInfo& code_info(Code c);

inline Error s3_error(Code c, std::string message) {
    Errc general = Errc::kInvalidArgument;
    switch (c) {
        case Code::kAccessDenied:
        case Code::kExpiredPresignedRequest:
        case Code::kInvalidAccessKeyId:
        case Code::kSignatureDoesNotMatch:
        case Code::kRequestTimeTooSkewed:
            general = Errc::kDenied;
            break;
        case Code::kInternalError:
            general = Errc::kInternal;
            break;
        case Code::kServiceUnavailable:
        case Code::kSlowDown:
            general = Errc::kUnavailable;
            break;
        default:
            break;
    }
    Error e{general, std::move(message)};
    e.reason = static_cast<int>(c);
    return e;
}

}  // namespace moat::s3

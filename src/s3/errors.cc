#include "s3/errors.h"

#include <array>

#include "s3/error_response.h"
#include "s3/xml.h"
#include "store/store.h"

namespace moat::s3 {
namespace {

// Indexed by Code; the names and statuses clients branch on (ErrorResponses.html).
constexpr std::array<CodeInfo, 41> kInfo{{
    {"", 200},
    {"AccessDenied", 403},
    {"AuthorizationHeaderMalformed", 400},
    {"AuthorizationQueryParametersError", 400},
    {"BadDigest", 400},
    {"BucketAlreadyOwnedByYou", 409},
    {"BucketNotEmpty", 409},
    {"EntityTooLarge", 400},
    {"EntityTooSmall", 400},
    {"AccessDenied",
     403},  // kExpiredPresignedRequest: AWS says AccessDenied, "Request has expired"
    {"IncompleteBody", 400},
    {"InternalError", 500},
    {"InvalidAccessKeyId", 403},
    {"InvalidArgument", 400},
    {"InvalidBucketName", 400},
    {"InvalidDigest", 400},
    {"InvalidPart", 400},
    {"InvalidPartOrder", 400},
    {"InvalidRange", 416},
    {"InvalidRequest", 400},
    {"KeyTooLongError", 400},
    {"MalformedXML", 400},
    {"MethodNotAllowed", 405},
    {"MissingContentLength", 411},
    {"MissingSecurityHeader", 400},
    {"NoSuchBucket", 404},
    {"NoSuchKey", 404},
    {"NoSuchLifecycleConfiguration", 404},
    {"NoSuchUpload", 404},
    {"NoSuchVersion", 404},
    {"NotImplemented", 501},
    {"PreconditionFailed", 412},
    {"RequestTimeTooSkewed", 403},
    {"RequestTimeout", 400},
    {"ServiceUnavailable", 503},
    {"SignatureDoesNotMatch", 403},
    {"SlowDown", 503},
    {"XAmzContentSHA256Mismatch", 400},
    {"InvalidStorageClass", 400},
    {"NotModified", 304},
    {"InternalError", 500},  // guard for out-of-range values
}};

Code from_errc(Errc c) {
    switch (c) {
        case Errc::kInvalidArgument:
            return Code::kInvalidArgument;
        case Errc::kNotFound:
            return Code::kNoSuchKey;
        case Errc::kConflict:
            return Code::kInvalidRequest;
        case Errc::kDenied:
            return Code::kAccessDenied;
        case Errc::kUnavailable:
            return Code::kServiceUnavailable;
        case Errc::kTooLarge:
            return Code::kEntityTooLarge;
        case Errc::kIo:
        case Errc::kInternal:
            return Code::kInternalError;
    }
    return Code::kInternalError;
}

}  // namespace

const CodeInfo& code_info(Code c) {
    auto i = static_cast<std::size_t>(c);
    return i < kInfo.size() - 1 ? kInfo[i] : kInfo.back();
}

Code code_of(const Error& e) {
    if (e.reason > 0 && static_cast<std::size_t>(e.reason) < kInfo.size() - 1)
        return static_cast<Code>(e.reason);
    return from_errc(e.code);
}

Error from_store(const Error& e) {
    using store::Reason;
    Code c = Code::kNone;
    switch (static_cast<Reason>(e.reason)) {
        case Reason::kNone:
            c = from_errc(e.code);
            break;
        case Reason::kNoSuchBucket:
            c = Code::kNoSuchBucket;
            break;
        case Reason::kNoSuchKey:
            c = Code::kNoSuchKey;
            break;
        case Reason::kNoSuchVersion:
            c = Code::kNoSuchVersion;
            break;
        case Reason::kNoSuchUpload:
            c = Code::kNoSuchUpload;
            break;
        case Reason::kNoSuchLifecycle:
            c = Code::kNoSuchLifecycleConfiguration;
            break;
        case Reason::kBucketNotEmpty:
            c = Code::kBucketNotEmpty;
            break;
        case Reason::kBucketExists:
            c = Code::kBucketAlreadyOwnedByYou;
            break;
        case Reason::kInvalidBucketName:
            c = Code::kInvalidBucketName;
            break;
        case Reason::kInvalidKey:
            c = Code::kInvalidArgument;
            break;
        case Reason::kPreconditionFailed:
            c = Code::kPreconditionFailed;
            break;
        case Reason::kInvalidPart:
            c = Code::kInvalidPart;
            break;
        case Reason::kInvalidPartOrder:
            c = Code::kInvalidPartOrder;
            break;
        case Reason::kEntityTooSmall:
            c = Code::kEntityTooSmall;
            break;
        case Reason::kEntityTooLarge:
            c = Code::kEntityTooLarge;
            break;
        case Reason::kBodyRejected:
            c = Code::kBadDigest;
            break;  // callers prefer the body's own
        case Reason::kDeleteMarker:
            c = Code::kNoSuchKey;
            break;
        case Reason::kNoSpace:
            c = Code::kServiceUnavailable;
            break;
        case Reason::kHeld:
            // DeleteObject(versionId) of a version a release serves: S3 Object Lock answers a
            // legal hold the same way (403 AccessDenied).
            return s3_error(Code::kAccessDenied, "the object version is held by a release");
        default:
            c = from_errc(e.code);
            break;
    }
    return s3_error(c, e.detail);
}

ErrorReply error_response(const Error& e, std::string_view resource, std::string_view request_id,
                          std::string_view region) {
    Code c = code_of(e);
    const CodeInfo& info = code_info(c);
    ErrorReply out;
    out.status = info.status;
    if (c == Code::kNotModified) return out;
    out.code = info.name;
    std::string message = e.detail;
    if (info.status >= 500 && c != Code::kNotImplemented)
        message = c == Code::kInternalError ? "We encountered an internal error. Please try again."
                                            : "Please reduce your request rate.";
    if (c == Code::kExpiredPresignedRequest) message = "Request has expired";
    if (message.empty()) message = info.name;
    XmlWriter w;
    w.open("Error");
    w.leaf("Code", out.code);
    w.leaf("Message", message);
    if (c == Code::kAuthorizationHeaderMalformed) w.leaf("Region", region);
    w.leaf("Resource", resource);
    w.leaf("RequestId", request_id);
    w.close();
    out.body = w.take();
    return out;
}

}  // namespace moat::s3

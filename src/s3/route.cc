#include "s3/route.h"

#include <algorithm>
#include <array>

#include "s3/errors.h"

namespace moat::s3 {
namespace {

// Sub-resources of the S3 API that moat does not serve: answering 501 tells clients plainly,
// where treating "?acl" as a listing would answer something they did not ask for.
constexpr std::array<std::string_view, 24> kUnsupported{"acl",
                                                        "cors",
                                                        "policy",
                                                        "policyStatus",
                                                        "website",
                                                        "tagging",
                                                        "logging",
                                                        "publicAccessBlock",
                                                        "ownershipControls",
                                                        "replication",
                                                        "notification",
                                                        "requestPayment",
                                                        "accelerate",
                                                        "analytics",
                                                        "inventory",
                                                        "metrics",
                                                        "intelligent-tiering",
                                                        "object-lock",
                                                        "retention",
                                                        "legal-hold",
                                                        "torrent",
                                                        "restore",
                                                        "select",
                                                        "attributes"};

Error not_implemented(std::string_view what) {
    return s3_error(Code::kNotImplemented,
                    "A header or query you provided implies functionality that is not "
                    "implemented: " +
                        std::string(what));
}

Error method_not_allowed(std::string_view method) {
    return s3_error(
        Code::kMethodNotAllowed,
        "The specified method is not allowed against this resource: " + std::string(method));
}

Result<Op> service_op(std::string_view m) {
    if (m == "GET" || m == "HEAD") return Op::kListBuckets;
    return method_not_allowed(m);
}

Result<Op> bucket_op(std::string_view m, const Route& r) {
    if (m == "GET" || m == "HEAD") {
        if (m == "HEAD") return Op::kHeadBucket;
        if (r.has("location")) return Op::kGetBucketLocation;
        if (r.has("versioning")) return Op::kGetBucketVersioning;
        if (r.has("lifecycle")) return Op::kGetBucketLifecycle;
        if (r.has("encryption")) return Op::kGetBucketEncryption;
        if (r.has("versions")) return Op::kListObjectVersions;
        if (r.has("uploads")) return Op::kListMultipartUploads;
        if (r.param("list-type") == "2") return Op::kListObjectsV2;
        return Op::kListObjects;
    }
    if (m == "PUT") {
        if (r.has("versioning")) return Op::kPutBucketVersioning;
        if (r.has("lifecycle")) return Op::kPutBucketLifecycle;
        if (r.has("encryption")) return Op::kPutBucketEncryption;
        return Op::kCreateBucket;
    }
    if (m == "DELETE") {
        if (r.has("lifecycle")) return Op::kDeleteBucketLifecycle;
        if (r.has("encryption")) return not_implemented("encryption cannot be turned off");
        return Op::kDeleteBucket;
    }
    if (m == "POST") {
        if (r.has("delete")) return Op::kDeleteObjects;
        return method_not_allowed(m);
    }
    return method_not_allowed(m);
}

Result<Op> object_op(std::string_view m, const Route& r, bool copy_source) {
    if (m == "GET") return r.has("uploadId") ? Op::kListParts : Op::kGetObject;
    if (m == "HEAD") return Op::kHeadObject;
    if (m == "PUT") {
        if (r.has("partNumber") || r.has("uploadId")) {
            if (!r.has("partNumber") || !r.has("uploadId"))
                return s3_error(Code::kInvalidRequest, "UploadPart needs partNumber and uploadId");
            return copy_source ? Op::kUploadPartCopy : Op::kUploadPart;
        }
        return copy_source ? Op::kCopyObject : Op::kPutObject;
    }
    if (m == "DELETE") return r.has("uploadId") ? Op::kAbortMultipartUpload : Op::kDeleteObject;
    if (m == "POST") {
        if (r.has("uploads")) return Op::kCreateMultipartUpload;
        if (r.has("uploadId")) return Op::kCompleteMultipartUpload;
        return method_not_allowed(m);
    }
    return method_not_allowed(m);
}

}  // namespace

const char* op_name(Op op) {
    static constexpr const char* kNames[] = {"ListBuckets",
                                             "CreateBucket",
                                             "DeleteBucket",
                                             "HeadBucket",
                                             "GetBucketLocation",
                                             "GetBucketVersioning",
                                             "PutBucketVersioning",
                                             "GetBucketLifecycle",
                                             "PutBucketLifecycle",
                                             "DeleteBucketLifecycle",
                                             "GetBucketEncryption",
                                             "PutBucketEncryption",
                                             "ListObjects",
                                             "ListObjectsV2",
                                             "ListObjectVersions",
                                             "ListMultipartUploads",
                                             "DeleteObjects",
                                             "PutObject",
                                             "CopyObject",
                                             "GetObject",
                                             "HeadObject",
                                             "DeleteObject",
                                             "CreateMultipartUpload",
                                             "UploadPart",
                                             "UploadPartCopy",
                                             "CompleteMultipartUpload",
                                             "AbortMultipartUpload",
                                             "ListParts"};
    return kNames[static_cast<int>(op)];
}

bool Route::has(std::string_view name) const {
    return std::any_of(query.begin(), query.end(), [&](const auto& p) { return p.first == name; });
}

std::string_view Route::param(std::string_view name) const {
    for (const auto& p : query)
        if (p.first == name) return p.second;
    return {};
}

Result<Route> resolve_route(const RouteInput& in, const std::vector<std::string>& hosts) {
    Route r;
    auto q = internal::parse_query(in.query);
    if (!q) return s3_error(Code::kInvalidArgument, "malformed percent-escape in the query");
    r.query = std::move(*q);
    if (in.path.empty() || in.path[0] != '/')
        return s3_error(Code::kInvalidRequest, "the request target must be an absolute path");
    auto path = internal::percent_decode(in.path.substr(1));
    if (!path) return s3_error(Code::kInvalidArgument, "malformed percent-escape in the path");

    // Virtual-host style: "<bucket>.<endpoint host>" (bucket names may hold dots themselves).
    for (const auto& h : hosts) {
        if (in.host.size() > h.size() + 1 && in.host.substr(in.host.size() - h.size()) == h &&
            in.host[in.host.size() - h.size() - 1] == '.') {
            r.bucket = std::string(in.host.substr(0, in.host.size() - h.size() - 1));
            r.key = std::move(*path);
            r.virtual_host = true;
            break;
        }
    }
    if (!r.virtual_host) {
        auto slash = path->find('/');
        r.bucket = path->substr(0, slash);
        if (slash != std::string::npos) r.key = path->substr(slash + 1);
    }
    if (r.key.size() > 1024)
        return s3_error(Code::kKeyTooLongError, "Your key is too long (over 1024 bytes)");
    // An empty bucket segment with a key after it ("//key") names no bucket: refused, not
    // taken for ListBuckets. (Naming rules proper are the store's: an unknown name is
    // NoSuchBucket.)
    if ((r.bucket.empty() && !r.key.empty()) || r.bucket.size() > 63 ||
        r.bucket.find('/') != std::string::npos)
        return s3_error(Code::kInvalidBucketName, "The specified bucket is not valid.");

    for (auto sub : kUnsupported)
        if (r.has(sub)) return not_implemented(std::string("?").append(sub));

    Result<Op> op = r.bucket.empty() ? service_op(in.method)
                    : r.key.empty()  ? bucket_op(in.method, r)
                                     : object_op(in.method, r, in.copy_source);
    if (!op) return op.error();
    r.op = *op;
    return r;
}

}  // namespace moat::s3

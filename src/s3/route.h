#pragma once
// Request -> S3 operation: path-style ("/bucket/key") and virtual-host-style
// ("bucket.<endpoint host>/key") addressing, then the method and sub-resource pick the
// operation
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html).
// Pure; any thread.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "s3/internal/text.h"

namespace moat::s3 {

enum class Op {
    kListBuckets,
    kCreateBucket,
    kDeleteBucket,
    kHeadBucket,
    kGetBucketLocation,
    kGetBucketVersioning,
    kPutBucketVersioning,
    kGetBucketLifecycle,
    kPutBucketLifecycle,
    kDeleteBucketLifecycle,
    kGetBucketEncryption,
    kPutBucketEncryption,
    kListObjects,
    kListObjectsV2,
    kListObjectVersions,
    kListMultipartUploads,
    kDeleteObjects,
    kPutObject,
    kCopyObject,
    kGetObject,
    kHeadObject,
    kDeleteObject,
    kCreateMultipartUpload,
    kUploadPart,
    kUploadPartCopy,
    kCompleteMultipartUpload,
    kAbortMultipartUpload,
    kListParts,
};

const char* op_name(Op op);

struct Route {
    Op op = Op::kListBuckets;
    std::string bucket;  // empty for ListBuckets
    std::string key;     // decoded, exactly as the client named it; empty for bucket operations
    internal::QueryParams query;
    bool virtual_host = false;

    bool has(std::string_view name) const;
    std::string_view param(std::string_view name) const;  // empty when absent
};

struct RouteInput {
    std::string_view method;
    std::string_view host;     // lower-case, no port
    std::string_view path;     // still percent-encoded
    std::string_view query;    // after '?'
    bool copy_source = false;  // x-amz-copy-source is present
};

// Errors (s3 codes): InvalidArgument for a malformed escape, InvalidBucketName for a bucket
// segment that cannot be one, KeyTooLongError over 1024 bytes, MethodNotAllowed for a method
// the resource does not have, NotImplemented for sub-resources moat does not serve (acl,
// cors, policy, website, tagging, ...).
Result<Route> resolve_route(const RouteInput& in, const std::vector<std::string>& hosts);

}  // namespace moat::s3

#pragma once
// What an access key may do, from its grants (store::Grant: bucket or "*", key prefix, read /
// write / list). Pure; any thread.

#include <string_view>
#include <vector>

#include "store/store.h"

namespace moat::s3 {

enum class Action {
    kRead,   // GetObject, HeadObject, the source of a copy
    kWrite,  // PutObject, DeleteObject, multipart, the target of a copy
    kList,   // ListObjects*, ListObjectVersions, ListMultipartUploads, ListParts
    kAdmin,  // bucket settings (versioning, lifecycle), CreateBucket, DeleteBucket: write on the
             // whole bucket (an empty prefix)
    kSee,    // HeadBucket, GetBucketLocation/Versioning/Lifecycle/Encryption: any grant on it
};

// Buckets named "moat-..." belong to moat itself (release variants in moat-releases, ACME
// account and certificate keys in moat-acme): a "*" grant does not reach them, only a grant
// that names the bucket, so a deployer's key with bucket "*" cannot read private keys.
bool internal_bucket(std::string_view bucket);

// True when one grant allows `action` on `key` of `bucket`. For kList, `key` is the listing's
// prefix: allowed when it lies under the grant's prefix (a listing must not show keys outside
// the grant).
bool allowed(const std::vector<store::Grant>& grants, Action action, std::string_view bucket,
             std::string_view key);

}  // namespace moat::s3

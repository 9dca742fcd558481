#pragma once
// Validation of bucket names and object keys as S3 defines them. Private to store/.

#include <string_view>

#include "core/result.h"

namespace moat::store::internal {

// S3 general-purpose bucket naming rules ("Bucket naming rules", Amazon S3 User Guide): 3-63
// chars of a-z 0-9 . -, begins and ends with a letter or digit, no "..", not an IPv4 address,
// none of the reserved prefixes and suffixes. Errors: kInvalidBucketName.
Result<void> check_bucket_name(std::string_view name);

// Keys are opaque: 1..1024 bytes of valid UTF-8 (S3 "Naming Amazon S3 objects"). They never
// become file names, so "..", "/" and friends are ordinary. Errors: kInvalidKey.
Result<void> check_key(std::string_view key);

bool valid_utf8(std::string_view s);

}  // namespace moat::store::internal

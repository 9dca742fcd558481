#pragma once
// LifecycleConfiguration documents <-> store::LifecycleRule
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html).
// Pure; any thread.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace moat::s3 {

// Accepts Filter{Prefix} / Filter{And{Prefix}} / an empty Filter / the legacy Rule-level
// Prefix; Expiration{Days | ExpiredObjectDeleteMarker}; NoncurrentVersionExpiration
// {NoncurrentDays, NewerNoncurrentVersions}; AbortIncompleteMultipartUpload
// {DaysAfterInitiation}. Up to 1000 rules with distinct IDs. Errors: MalformedXML for a
// document that is not one, InvalidArgument for a rule that breaks S3's rules (no action,
// Days below 1, ExpiredObjectDeleteMarker with Days), NotImplemented for Tag filters,
// ObjectSize filters, Expiration Date and Transitions (moat has no tags and one storage class).
Result<std::vector<store::LifecycleRule>> parse_lifecycle(std::string_view doc);

// The document GetBucketLifecycleConfiguration answers.
std::string render_lifecycle(const std::vector<store::LifecycleRule>& rules);

}  // namespace moat::s3

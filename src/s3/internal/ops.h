#pragma once
// The S3 operations, one function each, grouped by file: buckets.cc, objects.cc, delete.cc,
// copy.cc, list.cc, multipart.cc. Each checks the key's grants, calls the store, converts store
// errors with from_store() where the call returns, and on success sends the whole response.
// An error returned before the response started becomes the S3 error document.

#include "core/result.h"
#include "s3/internal/call.h"

namespace moat::s3::internal {

// buckets.cc
Result<void> list_buckets(Call& c);
Result<void> create_bucket(Call& c);
Result<void> delete_bucket(Call& c);
Result<void> head_bucket(Call& c);
Result<void> get_bucket_location(Call& c);
Result<void> get_bucket_versioning(Call& c);
Result<void> put_bucket_versioning(Call& c);
Result<void> get_bucket_lifecycle(Call& c);
Result<void> put_bucket_lifecycle(Call& c);
Result<void> delete_bucket_lifecycle(Call& c);
Result<void> get_bucket_encryption(Call& c);
Result<void> put_bucket_encryption(Call& c);

// objects.cc
Result<void> put_object(Call& c);
Result<void> get_object(Call& c);  // GET and HEAD
Result<void> delete_object(Call& c);

// delete.cc
Result<void> delete_objects(Call& c);

// copy.cc
Result<void> copy_object(Call& c);
Result<void> upload_part_copy(Call& c);

// list.cc
Result<void> list_objects(Call& c);  // v1 and v2
Result<void> list_object_versions(Call& c);
Result<void> list_multipart_uploads(Call& c);

// multipart.cc
Result<void> create_multipart_upload(Call& c);
Result<void> upload_part(Call& c);
Result<void> complete_multipart_upload(Call& c);
Result<void> abort_multipart_upload(Call& c);
Result<void> list_parts(Call& c);

}  // namespace moat::s3::internal

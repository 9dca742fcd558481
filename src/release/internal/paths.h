#pragma once
// Validation of the paths a release names and of CloudFront-style invalidation paths. Private
// to release/. Pure functions.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::release::internal {

// A release path: relative ("docs/index.html"), at most 1024 bytes, no empty, "." or ".."
// segment (so no leading, trailing or doubled '/'), no control characters. Errors: kBadPath.
Result<void> check_path(std::string_view path);
// Same rule, as a predicate (for keys found under an S3 prefix).
bool is_clean_path(std::string_view path);

// Invalidation paths (CloudFront's rules): 1..3000 paths, each starting with '/', '*' only as
// the last character, no control characters. Errors: kInvalidArgument, detail "InvalidPaths: ".
Result<void> check_invalidation_paths(const std::vector<std::string>& paths);

}  // namespace moat::release::internal

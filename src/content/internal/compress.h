#pragma once
// One-shot compression of a whole body into a content coding (RFC 9110 §8.4.1). Internal to
// content/: FileCache's background threads call it; it blocks for as long as the encoder runs.

#include <string>
#include <string_view>

#include "content/encoding.h"
#include "core/result.h"

namespace moat::content::internal {

// Compresses `in` with coding `e` (br, zstd or gzip) at `level` (that library's scale).
// Errors: kInvalidArgument for identity or an input the encoder cannot take, kInternal when
// the library fails.
Result<std::string> compress(Encoding e, std::string_view in, int level);

}  // namespace moat::content::internal

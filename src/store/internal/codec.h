#pragma once
// Compact binary encodings of the small structured values the store keeps in SQLite columns
// (object attributes, grants): length-prefixed strings, so any byte is allowed inside.
// Private to store/.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace moat::store::internal {

std::string encode_attrs(const ObjectAttributes& a);
std::optional<ObjectAttributes> decode_attrs(std::string_view bytes);

std::string encode_grants(const std::vector<Grant>& grants);
std::optional<std::vector<Grant>> decode_grants(std::string_view bytes);

}  // namespace moat::store::internal

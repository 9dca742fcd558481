#pragma once
// Content-Type by file extension (a complete table after the IANA registry, nginx's mime.types
// and the WHATWG MIME sniffing standard), with "; charset=utf-8" on text types.

#include <string_view>

namespace moat::content {

// The Content-Type for a path, chosen by its last extension, case-insensitively;
// "application/octet-stream" when unknown. The view points into a static table.
std::string_view content_type_for(std::string_view path);

// Whether compressing bodies of this type is worth it (text, JSON, XML, JS, SVG, fonts
// that are not already compressed, wasm ...); false for images, archives, video.
bool is_compressible(std::string_view content_type);

}  // namespace moat::content

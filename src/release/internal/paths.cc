#include "release/internal/paths.h"

#include <cstdint>

#include "release/service.h"

namespace moat::release::internal {

namespace {

constexpr std::size_t kMaxPath = 1024;  // S3's key limit; the key adds "<env>/<site>/"
constexpr std::size_t kMaxInvalidationPaths = 3000;

bool has_control(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return true;
    return false;
}

// Well-formed UTF-8 (RFC 3629 §4: no overlongs, no surrogates, at most U+10FFFF): store keys
// must be UTF-8, and the manifest is JSON.
bool is_utf8(std::string_view s) {
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        int n = c < 0x80           ? 0
                : (c >> 5) == 0x6  ? 1
                : (c >> 4) == 0xe  ? 2
                : (c >> 3) == 0x1e ? 3
                                   : -1;
        if (n < 0 || s.size() - i <= static_cast<std::size_t>(n)) return false;
        std::uint32_t cp = n == 0 ? c : c & (0x3fu >> n);
        for (int k = 1; k <= n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += static_cast<std::size_t>(n) + 1;
    }
    return true;
}

}  // namespace

bool is_clean_path(std::string_view path) {
    if (path.empty() || path.size() > kMaxPath || has_control(path) || !is_utf8(path)) return false;
    std::size_t start = 0;
    for (;;) {
        std::size_t end = path.find('/', start);
        std::string_view seg = path.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (seg.empty() || seg == "." || seg == "..") return false;
        if (end == std::string_view::npos) return true;
        start = end + 1;
    }
}

Result<void> check_path(std::string_view path) {
    if (is_clean_path(path)) return {};
    std::string shown(path.substr(0, 200));
    return release_error(Errc::kInvalidArgument, Reason::kBadPath,
                         "bad path \"" + shown +
                             "\": must be relative, at most 1024 bytes, without empty, '.' or "
                             "'..' segments or control characters");
}

Result<void> check_invalidation_paths(const std::vector<std::string>& paths) {
    if (paths.empty()) return make_error(Errc::kInvalidArgument, "InvalidPaths: no paths");
    if (paths.size() > kMaxInvalidationPaths)
        return make_error(Errc::kInvalidArgument, "InvalidPaths: more than 3000 paths");
    for (const auto& p : paths) {
        std::string shown = p.substr(0, 200);
        if (p.empty() || p[0] != '/')
            return make_error(Errc::kInvalidArgument,
                              "InvalidPaths: \"" + shown + "\" does not start with '/'");
        std::size_t star = p.find('*');
        if (star != std::string::npos && star != p.size() - 1)
            return make_error(Errc::kInvalidArgument,
                              "InvalidPaths: \"" + shown + "\": '*' only as the last character");
        if (p.size() > 4096 || has_control(p))
            return make_error(Errc::kInvalidArgument,
                              "InvalidPaths: \"" + shown + "\" is too long or has control bytes");
    }
    return {};
}

}  // namespace moat::release::internal

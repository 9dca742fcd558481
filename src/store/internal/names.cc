#include "store/internal/names.h"

#include <array>
#include <string>

#include "store/store.h"

namespace moat::store::internal {
namespace {

bool is_ipv4(std::string_view s) {
    int dots = 0, digits = 0;
    for (char c : s) {
        if (c == '.') {
            if (digits == 0) return false;
            ++dots;
            digits = 0;
        } else if (c >= '0' && c <= '9') {
            if (++digits > 3) return false;
        } else {
            return false;
        }
    }
    return dots == 3 && digits > 0;
}

Error bad_name(std::string_view name, const char* why) {
    return store_error(Errc::kInvalidArgument, Reason::kInvalidBucketName,
                       "invalid bucket name \"" + std::string(name.substr(0, 80)) + "\": " + why);
}

}  // namespace

Result<void> check_bucket_name(std::string_view name) {
    if (name.size() < 3 || name.size() > 63) return bad_name(name, "must be 3 to 63 characters");
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
        if (!ok) return bad_name(name, "only lower-case letters, digits, dots and hyphens");
    }
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(name.front()) || !alnum(name.back()))
        return bad_name(name, "must begin and end with a letter or digit");
    if (name.find("..") != std::string_view::npos)
        return bad_name(name, "must not contain two adjacent periods");
    if (is_ipv4(name)) return bad_name(name, "must not look like an IP address");
    static constexpr std::array<std::string_view, 4> kPrefixes = {
        "xn--", "sthree-", "amzn-s3-demo-", "sthree-configurator"};
    for (auto p : kPrefixes)
        if (name.substr(0, p.size()) == p) return bad_name(name, "reserved prefix");
    static constexpr std::array<std::string_view, 5> kSuffixes = {"-s3alias", "--ol-s3", ".mrap",
                                                                  "--x-s3", "--table-s3"};
    for (auto s : kSuffixes)
        if (name.size() >= s.size() && name.substr(name.size() - s.size()) == s)
            return bad_name(name, "reserved suffix");
    return {};
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0, n = s.size();
    while (i < n) {
        auto c = static_cast<unsigned char>(s[i]);
        int len = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (int k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = cp << 6 | (cc & 0x3F);
        }
        // RFC 3629 §3: no overlong forms, no surrogates, nothing above U+10FFFF.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return false;
        i += len;
    }
    return true;
}

Result<void> check_key(std::string_view key) {
    if (key.empty())
        return store_error(Errc::kInvalidArgument, Reason::kInvalidKey, "object key is empty");
    if (key.size() > 1024)
        return store_error(Errc::kInvalidArgument, Reason::kInvalidKey,
                           "object key is longer than 1024 bytes");
    if (!valid_utf8(key))
        return store_error(Errc::kInvalidArgument, Reason::kInvalidKey,
                           "object key is not valid UTF-8");
    return {};
}

}  // namespace moat::store::internal

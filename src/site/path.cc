#include "site/path.h"

namespace moat::site {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
bool is_pchar(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '-':
        case '.':
        case '_':
        case '~':  // unreserved
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':  // sub-delims
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case ':':
        case '@':
            return true;
        default:
            return false;
    }
}

Error bad_request(const char* why) { return make_error(Errc::kInvalidArgument, why); }
Error not_found(const char* why) { return make_error(Errc::kNotFound, why); }

}  // namespace

Result<std::string> normalize_path(std::string_view raw) {
    if (raw.empty() || raw[0] != '/') return bad_request("path must start with '/'");
    if (raw.size() > kMaxPathBytes * 3) return make_error(Errc::kTooLarge, "path too long");
    std::string out;
    out.reserve(raw.size());
    std::size_t pos = 1;
    for (int index = 0;; ++index) {
        // Split on raw '/' only: an encoded slash must not become a separator.
        const std::size_t end = raw.find('/', pos);
        const bool last = end == std::string_view::npos;
        const std::string_view seg = raw.substr(pos, last ? std::string_view::npos : end - pos);
        if (seg.empty()) {
            if (last) break;  // "/" alone, or a trailing slash: a folder was asked for
            return not_found("empty path segment");
        }
        const std::size_t start = out.size();
        for (std::size_t i = 0; i < seg.size(); ++i) {
            auto b = static_cast<unsigned char>(seg[i]);
            if (b == '%') {
                if (i + 2 >= seg.size()) return bad_request("truncated percent-escape");
                const int hi = hex_value(seg[i + 1]), lo = hex_value(seg[i + 2]);
                if (hi < 0 || lo < 0) return bad_request("malformed percent-escape");
                b = static_cast<unsigned char>(hi * 16 + lo);
                i += 2;
                if (b == '/') return not_found("encoded slash");
            }
            // NUL would truncate the name in the kernel; a backslash is a separator on other
            // systems; control characters have no business in a URL (RFC 3986 §2).
            if (b == 0) return bad_request("NUL in path");
            if (b == '\\') return bad_request("backslash in path");
            if (b < 0x20 || b == 0x7f) return bad_request("control character in path");
            out.push_back(static_cast<char>(b));
        }
        const std::string_view decoded = std::string_view(out).substr(start);
        if (decoded == "." || decoded == "..") return bad_request("dot-segment in path");
        // Dotfiles (.git, .env, .htpasswd ...) are never published; RFC 8615 reserves
        // /.well-known/ for things that must be (security.txt, mta-sts.txt, acme-challenge).
        if (decoded[0] == '.' && !(index == 0 && decoded == ".well-known"))
            return not_found("dotfile");
        if (out.size() > kMaxPathBytes) return make_error(Errc::kTooLarge, "path too long");
        if (last) break;
        out.push_back('/');
        pos = end + 1;
    }
    return out;
}

std::string encode_path(std::string_view decoded) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(decoded.size() + 8);
    for (char ch : decoded) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '/' || is_pchar(c)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

}  // namespace moat::site

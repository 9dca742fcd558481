#include "store/internal/codec.h"

#include <cstdint>

namespace moat::store::internal {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void put_str(std::string& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}
void put_headers(std::string& out, const Headers& h) {
    put_u32(out, static_cast<std::uint32_t>(h.size()));
    for (const auto& [k, v] : h) {
        put_str(out, k);
        put_str(out, v);
    }
}

struct Cursor {
    std::string_view in;
    bool ok = true;
    std::uint32_t u32() {
        if (in.size() < 4) {
            ok = false;
            return 0;
        }
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(in[i]);
        in.remove_prefix(4);
        return v;
    }
    std::string str() {
        std::uint32_t n = u32();
        if (!ok || in.size() < n) {
            ok = false;
            return {};
        }
        std::string s(in.substr(0, n));
        in.remove_prefix(n);
        return s;
    }
    Headers headers() {
        Headers h;
        std::uint32_t n = u32();
        for (std::uint32_t i = 0; ok && i < n; ++i) {
            std::string k = str();
            std::string v = str();
            h.emplace_back(std::move(k), std::move(v));
        }
        return h;
    }
};

constexpr char kAttrsV1 = 1;
constexpr char kGrantsV1 = 1;

}  // namespace

std::string encode_attrs(const ObjectAttributes& a) {
    std::string out(1, kAttrsV1);
    put_str(out, a.content_type);
    put_headers(out, a.user_meta);
    put_headers(out, a.system_meta);
    put_headers(out, a.checksums);
    return out;
}

std::optional<ObjectAttributes> decode_attrs(std::string_view bytes) {
    if (bytes.empty() || bytes[0] != kAttrsV1) return std::nullopt;
    Cursor c{bytes.substr(1)};
    ObjectAttributes a;
    a.content_type = c.str();
    a.user_meta = c.headers();
    a.system_meta = c.headers();
    a.checksums = c.headers();
    if (!c.ok || !c.in.empty()) return std::nullopt;
    return a;
}

std::string encode_grants(const std::vector<Grant>& grants) {
    std::string out(1, kGrantsV1);
    put_u32(out, static_cast<std::uint32_t>(grants.size()));
    for (const auto& g : grants) {
        put_str(out, g.bucket);
        put_str(out, g.prefix);
        put_u32(out, (g.read ? 1u : 0u) | (g.write ? 2u : 0u) | (g.list ? 4u : 0u));
    }
    return out;
}

std::optional<std::vector<Grant>> decode_grants(std::string_view bytes) {
    if (bytes.empty() || bytes[0] != kGrantsV1) return std::nullopt;
    Cursor c{bytes.substr(1)};
    std::vector<Grant> out;
    std::uint32_t n = c.u32();
    for (std::uint32_t i = 0; c.ok && i < n; ++i) {
        Grant g;
        g.bucket = c.str();
        g.prefix = c.str();
        std::uint32_t f = c.u32();
        g.read = f & 1;
        g.write = f & 2;
        g.list = f & 4;
        out.push_back(std::move(g));
    }
    if (!c.ok || !c.in.empty()) return std::nullopt;
    return out;
}

}  // namespace moat::store::internal

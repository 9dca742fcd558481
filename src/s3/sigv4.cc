#include "s3/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "s3/checksum.h"

namespace moat::s3::sigv4 {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

// RFC 9110 §5.5: leading/trailing whitespace removed; SigV4 also collapses inner runs.
std::string trim_collapse(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    bool space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

}  // namespace

std::optional<std::string> uri_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
    static const char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size() * 3 / 2);
    for (unsigned char c : s) {
        if (unreserved(c) || (keep_slash && c == '/')) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

std::optional<std::string> canonical_uri(std::string_view raw_path) {
    auto decoded = uri_decode(raw_path);
    if (!decoded) return std::nullopt;
    if (decoded->empty()) return std::string("/");
    return uri_encode(*decoded, true);
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!q.empty()) {
        std::size_t amp = q.find('&');
        std::string_view part = q.substr(0, amp);
        q = amp == q.npos ? std::string_view() : q.substr(amp + 1);
        if (part.empty()) continue;
        std::size_t eq = part.find('=');
        auto name = uri_decode(part.substr(0, eq));
        auto value = uri_decode(eq == part.npos ? std::string_view() : part.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

std::optional<std::string> canonical_query(std::string_view raw_query, std::string_view skip) {
    auto params = parse_query(raw_query);
    if (!params) return std::nullopt;
    std::vector<std::pair<std::string, std::string>> enc;
    enc.reserve(params->size());
    for (auto& [n, v] : *params) {
        if (!skip.empty() && n == skip) continue;
        enc.emplace_back(uri_encode(n, false), uri_encode(v, false));
    }
    std::sort(enc.begin(), enc.end());
    std::string out;
    for (const auto& [n, v] : enc) {
        if (!out.empty()) out.push_back('&');
        out.append(n).append("=").append(v);
    }
    return out;
}

std::string canonical_headers(const edge::ServiceHeaders& headers, std::string_view host_header,
                              std::string_view signed_headers) {
    std::string out;
    while (!signed_headers.empty()) {
        std::size_t semi = signed_headers.find(';');
        std::string_view name = signed_headers.substr(0, semi);
        signed_headers =
            semi == signed_headers.npos ? std::string_view() : signed_headers.substr(semi + 1);
        std::string value;
        bool any = false;
        if (name == "host" && !host_header.empty()) {
            value = trim_collapse(host_header);
            any = true;
        } else {
            for (const auto& [n, v] : headers) {
                if (n != name) continue;
                if (any) value.push_back(',');
                value.append(trim_collapse(v));
                any = true;
            }
        }
        out.append(name).append(":").append(value).append("\n");
    }
    return out;
}

std::string canonical_request(std::string_view method, std::string_view uri, std::string_view query,
                              std::string_view headers, std::string_view signed_headers,
                              std::string_view payload_hash) {
    std::string s;
    s.reserve(method.size() + uri.size() + query.size() + headers.size() + 200);
    s.append(method).append("\n").append(uri).append("\n").append(query).append("\n");
    s.append(headers).append("\n").append(signed_headers).append("\n").append(payload_hash);
    return s;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
    std::string s(kAlgorithm);
    s.append("\n").append(amz_date).append("\n").append(scope).append("\n");
    s.append(sha256_hex(canonical_request));
    return s;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
    std::string k = "AWS4";
    k.append(secret);
    std::string d = hmac_sha256(k, date);
    OPENSSL_cleanse(k.data(), k.size());
    std::string r = hmac_sha256(d, region);
    std::string s = hmac_sha256(r, service);
    return hmac_sha256(s, "aws4_request");
}

std::string signature(std::string_view key, std::string_view sts) {
    return to_hex(hmac_sha256(key, sts));
}

std::string chunk_signature(std::string_view key, std::string_view amz_date, std::string_view scope,
                            std::string_view previous, std::string_view chunk_sha256_hex) {
    std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n";
    sts.append(amz_date).append("\n").append(scope).append("\n").append(previous).append("\n");
    sts.append(kEmptySha256).append("\n").append(chunk_sha256_hex);
    return signature(key, sts);
}

std::string trailer_signature(std::string_view key, std::string_view amz_date,
                              std::string_view scope, std::string_view previous,
                              std::string_view trailer_lines) {
    std::string sts = "AWS4-HMAC-SHA256-TRAILER\n";
    sts.append(amz_date).append("\n").append(scope).append("\n").append(previous).append("\n");
    sts.append(sha256_hex(trailer_lines));
    return signature(key, sts);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace moat::s3::sigv4

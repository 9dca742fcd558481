// SigV4 request authentication (store.md §2.1-§2.2).
#include "s3/auth.h"

#include <charconv>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/text.h"
#include "s3/checksum.h"
#include "s3/sigv4.h"

namespace moat::s3 {
namespace {

using Clock = std::chrono::system_clock;

bool all_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    return true;
}

// ISO 8601 basic format "yyyymmddThhmmssZ" (the x-amz-date of SigV4).
std::optional<Clock::time_point> parse_amz_date(std::string_view s) {
    if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
    auto num = [&](std::size_t at, std::size_t len, int& out) {
        for (std::size_t i = at; i < at + len; ++i)
            if (s[i] < '0' || s[i] > '9') return false;  // from_chars would take a '-'
        auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + len, out);
        return ec == std::errc() && p == s.data() + at + len;
    };
    int y, mo, d, h, mi, se;
    if (!num(0, 4, y) || !num(4, 2, mo) || !num(6, 2, d) || !num(9, 2, h) || !num(11, 2, mi) ||
        !num(13, 2, se))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
    // system_clock counts nanoseconds in 64 bits: it ends in 2262 (found by s3_request_fuzz:
    // year 9999 overflowed the conversion). A signature date is within 15 minutes of now.
    if (y < 1970 || y > 2200) return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    std::time_t t = timegm(&tm);
    if (t == -1) return std::nullopt;
    return Clock::from_time_t(t);
}

std::string format_amz_date(Clock::time_point t) {
    std::time_t tt = Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

// "<AK>/<yyyymmdd>/<region>/s3/aws4_request".
struct Credential {
    std::string access_key, date, region, scope;
};

std::optional<Credential> parse_credential(std::string_view c) {
    std::vector<std::string_view> parts;
    while (true) {
        std::size_t slash = c.find('/');
        parts.push_back(c.substr(0, slash));
        if (slash == c.npos) break;
        c.remove_prefix(slash + 1);
    }
    if (parts.size() != 5 || parts[0].empty() || parts[1].size() != 8 || parts[2].empty() ||
        parts[3] != "s3" || parts[4] != "aws4_request")
        return std::nullopt;
    Credential out{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]), {}};
    out.scope = out.date + "/" + out.region + "/s3/aws4_request";
    return out;
}

// Signed headers: lower-case names, sorted, separated by ';', "host" among them.
bool valid_signed_headers(std::string_view s) {
    if (s.empty()) return false;
    bool host = false;
    std::string_view prev;
    while (true) {
        std::size_t semi = s.find(';');
        std::string_view n = s.substr(0, semi);
        if (n.empty() || n != core::ascii_lower(n) || (!prev.empty() && n <= prev)) return false;
        if (n == "host") host = true;
        prev = n;
        if (semi == s.npos) break;
        s.remove_prefix(semi + 1);
    }
    return host;
}

Result<PayloadMode> payload_mode(std::string_view v, std::string& hash) {
    if (v == sigv4::kUnsignedPayload) return PayloadMode::kUnsigned;
    if (v == sigv4::kStreamingPayload) return PayloadMode::kStreamingSigned;
    if (v == sigv4::kStreamingPayloadTrailer) return PayloadMode::kStreamingSignedTrailer;
    if (v == sigv4::kStreamingUnsignedTrailer) return PayloadMode::kStreamingUnsignedTrailer;
    if (v.size() == 64 && all_hex(v)) {
        hash = core::ascii_lower(v);
        return PayloadMode::kSignedHash;
    }
    if (v.rfind("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", 0) == 0)
        return s3_error(Code::kNotImplemented, "SigV4a (ECDSA) signing is not supported");
    return s3_error(Code::kInvalidArgument,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* value or the "
                    "hex SHA-256 of the payload");
}

Result<store::KeyRecord> lookup(const FindKey& find, const std::string& ak) {
    auto key = find(ak);
    if (key) return key;
    if (key.error().code == Errc::kNotFound)
        return s3_error(Code::kInvalidAccessKeyId,
                        "The AWS Access Key Id you provided does not exist in our records.");
    return key.error();
}

struct Parsed {
    Credential cred;
    std::string signed_headers, signature, amz_date, payload_hash;
    Clock::time_point when;
};

Result<AuthResult> verify(const edge::ServiceRequest& req, const FindKey& find, const Parsed& p,
                          std::string_view canonical_query, bool presigned) {
    auto uri = sigv4::canonical_uri(req.path);
    if (!uri) return s3_error(Code::kInvalidRequest, "malformed percent-encoding in the path");
    auto key = lookup(find, p.cred.access_key);
    if (!key) return key.error();
    const std::string headers =
        sigv4::canonical_headers(req.headers, req.header("host"), p.signed_headers);
    const std::string creq = sigv4::canonical_request(req.method, *uri, canonical_query, headers,
                                                      p.signed_headers, p.payload_hash);
    const std::string sts = sigv4::string_to_sign(p.amz_date, p.cred.scope, creq);
    std::string skey = sigv4::signing_key(key->secret, p.cred.date, p.cred.region, "s3");
    const std::string expected = sigv4::signature(skey, sts);
    if (!sigv4::constant_time_equal(expected, core::ascii_lower(p.signature)))
        return s3_error(Code::kSignatureDoesNotMatch,
                        "The request signature we calculated does not match the signature you "
                        "provided. Check your key and signing method.");
    AuthResult r;
    r.key = std::move(*key);
    r.presigned = presigned;
    auto mode = payload_mode(p.payload_hash, r.payload_sha256);
    if (!mode) return mode.error();
    r.payload = *mode;
    r.seed_signature = expected;
    r.signing_key = std::move(skey);
    r.scope = p.cred.scope;
    r.amz_date = p.amz_date;
    return r;
}

Result<AuthResult> header_auth(const edge::ServiceRequest& req, std::string_view auth,
                               const FindKey& find, Clock::time_point now) {
    auto malformed = [](std::string m) {
        return s3_error(Code::kAuthorizationHeaderMalformed, std::move(m));
    };
    if (auth.rfind("AWS ", 0) == 0)
        return s3_error(Code::kInvalidRequest,
                        "The authorization mechanism you have provided is not supported. Please "
                        "use AWS4-HMAC-SHA256.");
    if (auth.rfind("AWS4-ECDSA-P256-SHA256", 0) == 0)
        return s3_error(Code::kNotImplemented, "SigV4a (ECDSA) signing is not supported");
    if (auth.rfind("AWS4-HMAC-SHA256 ", 0) != 0)
        return malformed("The authorization header is malformed; unsupported algorithm");
    auth.remove_prefix(sigv4::kAlgorithm.size() + 1);
    Parsed p;
    std::string credential;
    bool have_cred = false, have_sh = false, have_sig = false;
    while (!auth.empty()) {
        std::size_t comma = auth.find(',');
        std::string_view part = auth.substr(0, comma);
        auth = comma == auth.npos ? std::string_view() : auth.substr(comma + 1);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
        std::size_t eq = part.find('=');
        if (eq == part.npos) return malformed("The authorization header is malformed");
        std::string_view k = part.substr(0, eq), v = part.substr(eq + 1);
        if (k == "Credential") {
            credential = v;
            have_cred = true;
        } else if (k == "SignedHeaders") {
            p.signed_headers = v;
            have_sh = true;
        } else if (k == "Signature") {
            p.signature = v;
            have_sig = true;
        } else {
            return malformed("The authorization header is malformed; unknown component");
        }
    }
    if (!have_cred || !have_sh || !have_sig)
        return malformed("The authorization header is malformed; a component is missing");
    auto cred = parse_credential(credential);
    if (!cred)
        return malformed(
            "The authorization header is malformed; the Credential is mal-formed; expecting "
            "\"<YOUR-AKID>/YYYYMMDD/REGION/s3/aws4_request\".");
    p.cred = std::move(*cred);
    if (!valid_signed_headers(p.signed_headers))
        return malformed(
            "The authorization header is malformed; SignedHeaders must be sorted "
            "lower-case names including host");
    if (p.signature.size() != 64 || !all_hex(p.signature))
        return malformed("The authorization header is malformed; bad Signature");

    p.amz_date = req.header("x-amz-date");
    if (p.amz_date.empty())
        return s3_error(Code::kAccessDenied,
                        "AWS authentication requires a valid Date or x-amz-date header");
    auto when = parse_amz_date(p.amz_date);
    if (!when)
        return s3_error(Code::kAccessDenied,
                        "AWS authentication requires a valid Date or x-amz-date header");
    if (p.amz_date.substr(0, 8) != p.cred.date)
        return malformed(
            "The authorization header is malformed; the date in the Credential "
            "does not match x-amz-date");
    if (*when - now > kMaxClockSkew || now - *when > kMaxClockSkew)
        return s3_error(Code::kRequestTimeTooSkewed,
                        "The difference between the request time and the current time is too "
                        "large.");
    // S3 requires x-amz-content-sha256 with header auth; without it the payload counts as
    // empty and a non-empty body then fails verification.
    p.payload_hash = req.header("x-amz-content-sha256");
    if (p.payload_hash.empty()) p.payload_hash = sigv4::kEmptySha256;
    std::string unused;
    if (auto m = payload_mode(p.payload_hash, unused); !m) return m.error();

    auto query = sigv4::canonical_query(req.query);
    if (!query) return s3_error(Code::kInvalidRequest, "malformed percent-encoding in the query");
    return verify(req, find, p, *query, false);
}

Result<AuthResult> query_auth(const edge::ServiceRequest& req,
                              const std::vector<std::pair<std::string, std::string>>& params,
                              const FindKey& find, Clock::time_point now) {
    auto bad = [](std::string m) {
        return s3_error(Code::kAuthorizationQueryParametersError, std::move(m));
    };
    auto get = [&](std::string_view n) -> const std::string* {
        for (const auto& [k, v] : params)
            if (k == n) return &v;
        return nullptr;
    };
    const std::string* alg = get("X-Amz-Algorithm");
    if (!alg || *alg != sigv4::kAlgorithm)
        return bad("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    const std::string* cred = get("X-Amz-Credential");
    const std::string* date = get("X-Amz-Date");
    const std::string* expires = get("X-Amz-Expires");
    const std::string* sh = get("X-Amz-SignedHeaders");
    const std::string* sig = get("X-Amz-Signature");
    if (!cred || !date || !expires || !sh || !sig)
        return bad(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters.");
    Parsed p;
    auto c = parse_credential(*cred);
    if (!c)
        return bad(
            "Error parsing the X-Amz-Credential parameter; expecting "
            "\"<YOUR-AKID>/YYYYMMDD/REGION/s3/aws4_request\".");
    p.cred = std::move(*c);
    p.signed_headers = *sh;
    if (!valid_signed_headers(p.signed_headers))
        return bad("X-Amz-SignedHeaders must be sorted lower-case names including host");
    p.signature = *sig;
    if (p.signature.size() != 64 || !all_hex(p.signature)) return bad("bad X-Amz-Signature");
    p.amz_date = *date;
    auto when = parse_amz_date(p.amz_date);
    if (!when || p.amz_date.substr(0, 8) != p.cred.date)
        return bad(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" and "
            "match the date of X-Amz-Credential");
    long long secs = 0;
    auto [ptr, ec] = std::from_chars(expires->data(), expires->data() + expires->size(), secs);
    if (ec != std::errc() || ptr != expires->data() + expires->size() || secs < 1)
        return bad("X-Amz-Expires should be a number between 1 and 604800");
    if (secs > kMaxPresignExpiry.count())
        return bad("X-Amz-Expires must be less than a week (in seconds) that is 604800");
    // A URL signed by a clock a little ahead still works (the same skew as header auth).
    if (*when - now > kMaxClockSkew)
        return s3_error(Code::kAccessDenied, "Request is not valid yet");
    if (now > *when + std::chrono::seconds(secs))
        return s3_error(Code::kExpiredPresignedRequest, "Request has expired");
    const std::string* content = get("X-Amz-Content-Sha256");
    p.payload_hash = content ? *content : std::string(sigv4::kUnsignedPayload);
    std::string unused;
    if (auto m = payload_mode(p.payload_hash, unused); !m) return m.error();
    auto query = sigv4::canonical_query(req.query, "X-Amz-Signature");
    if (!query) return bad("malformed percent-encoding in the query");
    return verify(req, find, p, *query, true);
}

}  // namespace

Result<AuthResult> authenticate(const edge::ServiceRequest& req, const FindKey& find,
                                Clock::time_point now) {
    const std::string_view auth = req.header("authorization");
    auto params = sigv4::parse_query(req.query);
    bool presigned = false;
    bool v2_query = false;
    if (params) {
        for (const auto& [k, v] : *params) {
            if (k == "X-Amz-Algorithm" || k == "X-Amz-Credential" || k == "X-Amz-Signature")
                presigned = true;
            if (k == "AWSAccessKeyId" || k == "Signature") v2_query = true;
        }
    }
    if (!auth.empty() && presigned)
        return s3_error(Code::kInvalidArgument, "Only one auth mechanism allowed");
    if (!auth.empty()) return header_auth(req, auth, find, now);
    if (presigned) return query_auth(req, *params, find, now);
    if (v2_query)
        return s3_error(Code::kInvalidRequest,
                        "The authorization mechanism you have provided is not supported. Please "
                        "use AWS4-HMAC-SHA256.");
    AuthResult anon;
    anon.anonymous = true;
    return anon;
}

std::string presign_url(std::string_view method, std::string_view host, std::string_view path,
                        std::string_view query, std::string_view access_key_id,
                        std::string_view secret, std::string_view region, Clock::time_point when,
                        std::chrono::seconds expires) {
    const std::string amz_date = format_amz_date(when);
    const std::string date = amz_date.substr(0, 8);
    const std::string scope = date + "/" + std::string(region) + "/s3/aws4_request";
    std::string q(query);
    auto add = [&](std::string_view n, std::string_view v) {
        if (!q.empty()) q.push_back('&');
        q.append(n).append("=").append(sigv4::uri_encode(v, false));
    };
    add("X-Amz-Algorithm", sigv4::kAlgorithm);
    add("X-Amz-Credential", std::string(access_key_id) + "/" + scope);
    add("X-Amz-Date", amz_date);
    add("X-Amz-Expires", std::to_string(expires.count()));
    add("X-Amz-SignedHeaders", "host");
    edge::ServiceHeaders headers{{"host", std::string(host)}};
    const std::string creq = sigv4::canonical_request(
        method, sigv4::canonical_uri(path).value_or(std::string(path)),
        sigv4::canonical_query(q).value_or(q), sigv4::canonical_headers(headers, host, "host"),
        "host", sigv4::kUnsignedPayload);
    const std::string key = sigv4::signing_key(secret, date, region, "s3");
    add("X-Amz-Signature", sigv4::signature(key, sigv4::string_to_sign(amz_date, scope, creq)));
    return std::string(path) + "?" + q;
}

}  // namespace moat::s3

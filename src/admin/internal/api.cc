#include "admin/internal/api.h"

#include "core/log.h"
#include "release/service.h"

namespace moat::admin::internal {
namespace {

using release::Reason;

struct Mapped {
    int status;
    const char* code;
};

// release::Reason -> (status, code), but only when the Errc is the one service.h pairs it
// with: the reason field is shared with store::Reason, which may travel through unchanged.
std::optional<Mapped> by_reason(const Error& e) {
    auto when = [&](Errc c, int status, const char* code) -> std::optional<Mapped> {
        if (e.code != c) return std::nullopt;
        return Mapped{status, code};
    };
    switch (release::reason_of(e)) {
        case Reason::kNone:
            return std::nullopt;
        case Reason::kUnknownSite:
            return when(Errc::kNotFound, 404, "NoSuchSite");
        case Reason::kUnknownEnvironment:
            return when(Errc::kNotFound, 404, "NoSuchEnvironment");
        case Reason::kUnknownRelease:
            return when(Errc::kNotFound, 404, "NoSuchRelease");
        case Reason::kNoRelease:
            return when(Errc::kNotFound, 404, "NoRelease");
        case Reason::kProtectedEnvironment:
            return when(Errc::kDenied, 403, "ProtectedEnvironment");
        case Reason::kSelfApproval:
            return when(Errc::kDenied, 403, "SelfApproval");
        case Reason::kNotPending:
            return when(Errc::kConflict, 409, "NotPending");
        case Reason::kMissingContent:
            return when(Errc::kConflict, 409, "MissingContent");
        case Reason::kHashMismatch:
            return when(Errc::kInvalidArgument, 400, "HashMismatch");
        case Reason::kBadPath:
            return when(Errc::kInvalidArgument, 400, "BadPath");
        case Reason::kNeverLive:
            return when(Errc::kDenied, 403, "NeverLive");
        case Reason::kPolicy:
            return when(Errc::kDenied, 403, "PolicyFailed");
    }
    return std::nullopt;
}

Mapped by_errc(Errc c) {
    switch (c) {
        case Errc::kInvalidArgument:
            return {400, "BadRequest"};
        case Errc::kNotFound:
            return {404, "NotFound"};
        case Errc::kConflict:
            return {409, "Conflict"};
        case Errc::kDenied:
            return {403, "AccessDenied"};
        case Errc::kTooLarge:
            return {413, "TooLarge"};
        case Errc::kUnavailable:
            return {503, "Unavailable"};
        case Errc::kIo:
        case Errc::kInternal:
            break;
    }
    return {500, "Internal"};
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

Reply ok(Json body, int status) {
    Reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

Reply fail(int status, std::string code, std::string message) {
    Reply r;
    r.status = status;
    r.body = Json{{"error", {{"code", code}, {"message", std::move(message)}}}};
    r.code = std::move(code);
    return r;
}

Reply fail(const Error& e) {
    Mapped m = by_reason(e).value_or(by_errc(e.code));
    if (m.status >= 500) {
        core::logger("admin")->error("admin call failed err={}", e.detail);
        return fail(m.status, m.code,
                    m.status == 503 ? "try again later" : "internal error (see the server log)");
    }
    return fail(m.status, m.code, e.detail);
}

Result<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) return make_error(Errc::kInvalidArgument, "bad percent-escape");
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') return make_error(Errc::kInvalidArgument, "NUL in a path or query");
        out += c;
    }
    return out;
}

std::optional<std::vector<std::string>> split_path(std::string_view path) {
    std::vector<std::string> out;
    if (path.empty() || path[0] != '/') return std::nullopt;
    path.remove_prefix(1);
    for (;;) {
        std::size_t slash = path.find('/');
        auto seg = percent_decode(path.substr(0, slash));
        if (!seg) return std::nullopt;
        out.push_back(std::move(*seg));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        std::size_t eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq), true);
        if (key && *key == name) {
            if (eq == std::string_view::npos) return std::string();
            auto v = percent_decode(pair.substr(eq + 1), true);
            if (!v) return std::nullopt;
            return *v;
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

Result<std::string> read_body(edge::ServiceBody& body, std::uint64_t max) {
    if (auto len = body.length(); len && *len > max)
        return make_error(Errc::kTooLarge, "request body over " + std::to_string(max) + " bytes");
    std::string out;
    char buf[16384];
    for (;;) {
        auto n = body.read(buf, sizeof buf);
        if (!n) return n.error();
        if (*n == 0) return out;
        if (out.size() + *n > max)
            return make_error(Errc::kTooLarge,
                              "request body over " + std::to_string(max) + " bytes");
        out.append(buf, *n);
    }
}

void send(edge::ServiceResponse& res, const Reply& r) {
    edge::ServiceHeaders h{{"Content-Type", "application/json; charset=utf-8"},
                           {"Cache-Control", "no-store"}};
    // RFC 7235 §3.1: a 401 carries a challenge; RFC 6750 §3.1 names a bad token.
    if (r.status == 401)
        h.emplace_back("WWW-Authenticate", r.bad_token
                                               ? "Bearer realm=\"moat\", error=\"invalid_token\""
                                               : "Bearer realm=\"moat\"");
    if (r.retry_after) h.emplace_back("Retry-After", std::to_string(*r.retry_after));
    std::string text = r.body.dump(-1, ' ', false, Json::error_handler_t::replace);
    text += '\n';
    (void)res.send(r.status, h, text);
}

}  // namespace moat::admin::internal

// Release routes of the admin API (docs/admin-api.md "Calls"): thin adapters from JSON to
// release::ReleaseService.
#include <algorithm>

#include "admin/internal/call.h"
#include "admin/internal/json_out.h"

namespace moat::admin::internal {
namespace {

// Where `env` of a site is served, from its status ("" when unknown).
std::string env_url(release::ReleaseService& rs, std::string_view site, std::string_view env) {
    auto st = rs.status(site);
    if (!st) return "";
    for (const auto& e : st->environments)
        if (e.name == env) return e.url;
    return "";
}

// An upload body for the store: reads the request body as the store pulls it (never all of it
// in memory), at most `max` bytes.
class RequestBodySource : public store::BodySource {
public:
    RequestBodySource(edge::ServiceBody& body, std::uint64_t max) : body_(body), max_(max) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        auto got = body_.read(buf, n);
        if (!got) {
            failure_ = got.error();
            return got.error();
        }
        total_ += *got;
        if (total_ > max_) {
            failure_ =
                make_error(Errc::kTooLarge, "upload over " + std::to_string(max_) + " bytes");
            return *failure_;
        }
        return *got;
    }
    // The body's own failure, which explains a failed upload better than what the store made
    // of it.
    const std::optional<Error>& failure() const { return failure_; }

private:
    edge::ServiceBody& body_;
    std::uint64_t max_;
    std::uint64_t total_ = 0;
    std::optional<Error> failure_;
};

// pending_status: promote answers 202 while approvals are awaited (docs/admin-api.md);
// approve always 200 (its body says whether the promotion happened).
Reply promote_reply(const Result<release::PromoteOutcome>& r, Call& c, int pending_status) {
    if (!r) return fail(r.error());
    c.detail["release"] = r->release.id;
    c.detail["promoted"] = r->promoted;
    // 202 Accepted (RFC 9110 §15.3.3): recorded, waiting for approvals.
    return ok(to_json(*r), r->promoted ? 200 : pending_status);
}

// "force": true in a deploy, promote or approve body asks to override the site's header
// policy (release::Reason::kPolicy, issue 7's min_grade). Only an admin may, with a fresh TOTP
// code: `code_checked` when the route's own requirements already verified one (a second
// check of the same code would call it replayed). Sets `force`; a reply when refused or
// malformed.
std::optional<Reply> check_force(Call& c, bool code_checked, bool& force) {
    force = false;
    auto it = c.body.find("force");
    if (it == c.body.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) return fail(400, "BadRequest", "\"force\" is not a boolean");
    force = it->get<bool>();
    if (!force) return std::nullopt;
    c.detail["force"] = true;  // in the record of a refusal too
    return c.require(Role::kAdmin, !code_checked);
}

// Runs `call(force)` without forcing first, so that a call the policy would not have refused
// is not recorded as forced, and a forced one's record names the refusal it overrode. Only
// the policy check is skipped on the second run; the service's other refusals stand. A
// refused approve has recorded its approval, which the second run adds again (counted once).
template <class F>
auto forcing(Call& c, bool force, F&& call) -> decltype(call(false)) {
    auto r = call(false);
    if (!force) return r;
    if (r || release::reason_of(r.error()) != release::Reason::kPolicy) {
        c.detail["forced"] = false;
        return r;
    }
    c.detail["forced"] = true;
    c.detail["policy"] = r.error().detail;
    return call(true);
}

}  // namespace

Reply route_whoami(Call& c) {
    return ok(Json{{"principal", c.who.name}, {"role", role_name(c.who.role)}});
}

Reply route_sites(Call& c) {
    auto st = c.deps.releases->status();
    if (!st) return fail(st.error());
    Json sites = Json::array();
    for (const auto& s : *st) sites.push_back(to_json(s));
    return ok(Json{{"sites", std::move(sites)}});
}

Reply route_site(Call& c) {
    auto st = c.deps.releases->status(c.args[0]);
    if (!st) return fail(st.error());
    return ok(to_json(*st));
}

Reply route_missing(Call& c) {
    c.target = c.args[0] + "/" + c.args[1];
    auto files = deploy_files(c.body);
    if (!files) return fail(files.error());
    auto m = c.deps.releases->missing(c.args[0], c.args[1], *files);
    if (!m) return fail(m.error());
    c.detail["files"] = files->size();
    c.detail["missing"] = m->size();
    return ok(Json{{"missing", *m}});
}

Reply route_upload(Call& c) {
    c.target = c.args[0] + "/" + c.args[1];
    release::DeployFile f;
    f.path = c.args[2];
    f.sha256 = std::string(c.req.header("x-moat-sha256"));
    std::transform(f.sha256.begin(), f.sha256.end(), f.sha256.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    f.content_type = std::string(c.req.header("content-type"));
    c.detail["path"] = f.path;
    c.detail["sha256"] = f.sha256;
    if (!is_sha256_hex(f.sha256))
        return fail(400, "BadRequest", "X-Moat-Sha256 must be the body's SHA-256 in hex");
    auto len = c.req.body->length();
    if (len && *len > c.settings.max_upload)
        return fail(413, "TooLarge",
                    "upload over " + std::to_string(c.settings.max_upload) + " bytes");
    f.size = len.value_or(0);
    RequestBodySource src(*c.req.body, c.settings.max_upload);
    auto info = c.deps.releases->upload(c.args[0], c.args[1], f, src, c.who.name);
    if (!info) return fail(src.failure() ? *src.failure() : info.error());
    c.detail["size"] = info->size;
    return ok(Json{{"path", f.path},
                   {"version_id", info->version_id},
                   {"sha256", info->sha256},
                   {"size", info->size}});
}

Reply route_deploy(Call& c) {
    c.target = c.args[0] + "/" + c.args[1];
    auto files = deploy_files(c.body);
    if (!files) return fail(files.error());
    bool force = false;
    if (auto refused = check_force(c, false, force)) return *refused;
    auto r = forcing(c, force, [&](bool f) {
        return c.deps.releases->deploy(c.args[0], c.args[1], *files, c.who.name, f);
    });
    if (!r) return fail(r.error());
    c.detail["release"] = r->id;
    c.detail["files"] = r->files;
    Json out = to_json(*r);
    out["url"] = env_url(*c.deps.releases, c.args[0], c.args[1]);
    return ok(std::move(out));
}

Reply route_releases(Call& c) {
    auto rs = c.deps.releases->releases(c.args[0]);
    if (!rs) return fail(rs.error());
    auto hist = c.deps.releases->history(c.args[0]);
    if (!hist) return fail(hist.error());
    Json a = Json::array(), h = Json::array();
    for (const auto& r : *rs) a.push_back(to_json(r));
    for (const auto& m : *hist) h.push_back(to_json(m));
    return ok(Json{{"releases", std::move(a)}, {"history", std::move(h)}});
}

Reply route_release(Call& c) {
    auto r = c.deps.releases->release(c.args[0], c.args[1]);
    if (!r) return fail(r.error());
    auto m = c.deps.releases->manifest(c.args[0], c.args[1]);
    if (!m) return fail(m.error());
    Json out = to_json(*r);
    std::string text = release::to_json(*m);
    out["manifest"] = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (out["manifest"].is_discarded()) return fail(make_error(Errc::kInternal, "bad manifest"));
    return ok(std::move(out));
}

Reply route_diff(Call& c) {
    auto from = query_param(c.req.query, "from");
    auto to = query_param(c.req.query, "to");
    if (!from || !to || from->empty() || to->empty())
        return fail(400, "BadRequest", "diff needs ?from=<release>&to=<release>");
    auto d = c.deps.releases->diff(c.args[0], *from, *to);
    if (!d) return fail(d.error());
    return ok(Json{{"from", *from},
                   {"to", *to},
                   {"added", d->added},
                   {"removed", d->removed},
                   {"changed", d->changed}});
}

Reply route_promote(Call& c) {
    c.target = c.args[0];
    auto from = string_member(c.body, "from");
    auto rel = string_member(c.body, "release");
    if (!from || !rel) return fail(!from ? from.error() : rel.error());
    if (from->empty() && rel->empty())
        return fail(400, "BadRequest", "promote needs \"from\" (an environment) or \"release\"");
    c.detail["from"] = *from;
    bool force = false;
    if (auto refused = check_force(c, false, force)) return *refused;
    auto r = forcing(c, force, [&](bool f) {
        return c.deps.releases->promote(c.args[0], *from, *rel, c.who.name, f);
    });
    return promote_reply(r, c, 202);
}

Reply route_approve(Call& c) {
    c.target = c.args[0];
    auto rel = string_member(c.body, "release");
    if (!rel) return fail(rel.error());
    if (rel->empty()) return fail(400, "BadRequest", "approve needs \"release\"");
    bool force = false;
    if (auto refused = check_force(c, true, force)) return *refused;  // the route checked the code
    auto r = forcing(
        c, force, [&](bool f) { return c.deps.releases->approve(c.args[0], *rel, c.who.name, f); });
    return promote_reply(r, c, 200);
}

Reply route_reject(Call& c) {
    c.target = c.args[0];
    auto rel = string_member(c.body, "release");
    auto reason = string_member(c.body, "reason");
    if (!rel || !reason) return fail(!rel ? rel.error() : reason.error());
    if (rel->empty()) return fail(400, "BadRequest", "reject needs \"release\"");
    c.detail["release"] = *rel;
    c.detail["reason"] = *reason;
    auto r = c.deps.releases->reject(c.args[0], *rel, c.who.name, *reason);
    if (!r) return fail(r.error());
    return ok(Json{{"rejected", *rel}});
}

Reply route_rollback(Call& c) {
    auto env = string_member(c.body, "env");
    auto to = string_member(c.body, "to");
    if (!env || !to) return fail(!env ? env.error() : to.error());
    if (env->empty()) return fail(400, "BadRequest", "rollback needs \"env\"");
    c.target = c.args[0] + "/" + *env;
    // The protected environment takes an approver and a fresh code (the table's "approver +
    // TOTP for the protected env"); which one is protected, the site's status says.
    auto st = c.deps.releases->status(c.args[0]);
    if (!st) return fail(st.error());
    auto e = std::find_if(st->environments.begin(), st->environments.end(),
                          [&](const release::EnvStatus& s) { return s.name == *env; });
    if (e != st->environments.end() && e->protected_env) {
        if (auto refused = c.require(Role::kApprover, true)) return *refused;
    }
    auto r = c.deps.releases->rollback(c.args[0], *env, *to, c.who.name);
    if (!r) return fail(r.error());
    c.detail["release"] = r->id;
    return ok(to_json(*r));
}

Reply route_invalidate(Call& c) {
    auto env = string_member(c.body, "env");
    if (!env) return fail(env.error());
    if (env->empty()) return fail(400, "BadRequest", "invalidate needs \"env\"");
    c.target = c.args[0] + "/" + *env;
    const Json& paths = c.body.is_object() && c.body.contains("paths") ? c.body["paths"] : Json();
    if (!paths.is_array()) return fail(400, "InvalidPaths", "\"paths\" must be an array");
    std::vector<std::string> ps;
    for (const Json& p : paths) {
        if (!p.is_string()) return fail(400, "InvalidPaths", "every path must be a string");
        ps.push_back(p.get<std::string>());
    }
    c.detail["paths"] = ps.size();
    auto r = c.deps.releases->invalidate(c.args[0], *env, ps, c.who.name);
    if (!r) {
        // The service's kInvalidArgument here is about the paths (CloudFront's rules).
        if (r.error().code == Errc::kInvalidArgument && r.error().reason == 0) {
            std::string_view msg = r.error().detail;
            if (msg.starts_with("InvalidPaths: ")) msg.remove_prefix(14);  // the code says it
            return fail(400, "InvalidPaths", std::string(msg));
        }
        return fail(r.error());
    }
    return ok(to_json(*r));
}

}  // namespace moat::admin::internal

// Admin routes of the admin API (docs/admin-api.md "Calls"): the audit log, principals and
// backups.
#include "admin/internal/call.h"
#include "admin/internal/json_out.h"

namespace moat::admin::internal {
namespace {

constexpr int kDefaultLimit = 100, kMaxLimit = 1000;

// A non-negative decimal query value; fallback when absent, nullopt when malformed.
std::optional<std::uint64_t> number_param(std::string_view query, const char* name,
                                          std::uint64_t fallback) {
    auto v = query_param(query, name);
    if (!v) return fallback;
    if (v->empty() || v->size() > 19) return std::nullopt;
    std::uint64_t n = 0;
    for (char ch : *v) {
        if (ch < '0' || ch > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    return n;
}

}  // namespace

Reply route_audit_log(Call& c) {
    auto after = number_param(c.req.query, "after", 0);
    auto limit = number_param(c.req.query, "limit", kDefaultLimit);
    if (!after || !limit) return fail(400, "BadRequest", "after and limit are numbers");
    int n =
        static_cast<int>(std::min<std::uint64_t>(*limit == 0 ? kDefaultLimit : *limit, kMaxLimit));
    auto recs = c.deps.audit->records(*after, n);
    if (!recs) return fail(recs.error());
    Json a = Json::array();
    for (const auto& r : *recs) a.push_back(to_json(r));
    return ok(Json{{"records", std::move(a)}});
}

Reply route_audit_verify(Call& c) {
    auto v = c.deps.audit->verify();
    if (!v) return fail(v.error());
    return ok(Json{{"ok", v->ok}, {"records", v->records}, {"problems", v->problems}});
}

Reply route_principals(Call& c) {
    auto ps = c.deps.principals->list();
    if (!ps) return fail(ps.error());
    Json a = Json::array();
    for (const auto& p : *ps) a.push_back(to_json(p));
    return ok(Json{{"principals", std::move(a)}});
}

Reply route_principal_create(Call& c) {
    auto name = string_member(c.body, "name");
    auto role_text = string_member(c.body, "role");
    if (!name || !role_text) return fail(!name ? name.error() : role_text.error());
    c.target = *name;
    c.detail["role"] = *role_text;
    auto role = parse_role(*role_text);
    if (!role) return fail(role.error());
    auto en = c.deps.principals->create(*name, *role);
    if (!en) return fail(en.error());
    return ok(to_json(*en));
}

Reply route_principal_remove(Call& c) {
    c.target = c.args[0];
    auto r = c.deps.principals->remove(c.args[0]);
    if (!r) return fail(r.error());
    return ok(Json{{"removed", c.args[0]}});
}

Reply route_backup(Call& c) {
    auto dest = string_member(c.body, "dest");
    if (!dest) return fail(dest.error());
    c.target = *dest;
    if (dest->empty() || (*dest)[0] != '/')
        return fail(400, "BadRequest", "\"dest\" must be an absolute folder on the server");
    if (!c.deps.backup) return fail(503, "Unavailable", "backups are not available");
    auto r = c.deps.backup(*dest);
    if (!r) return fail(r.error());
    // The backup's own summary ({"objects","blobs","bytes"}), with dest first.
    Json out{{"dest", *dest}};
    Json summary = Json::parse(*r, nullptr, /*allow_exceptions=*/false);
    if (summary.is_object()) {
        for (auto it = summary.begin(); it != summary.end(); ++it)
            if (it.key() != "dest") out[it.key()] = it.value();
        c.detail = summary;
    }
    return ok(std::move(out));
}

}  // namespace moat::admin::internal

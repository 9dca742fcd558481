#include "admin/internal/json_out.h"

#include "admin/internal/time_text.h"

namespace moat::admin::internal {

Json to_json(const release::ReleaseInfo& r) {
    return Json{{"id", r.id},
                {"site", r.site},
                {"manifest_hash", r.manifest_hash},
                {"source", r.source},
                {"created_by", r.created_by},
                {"created", rfc3339(r.created)},
                {"files", r.files},
                {"bytes", r.bytes},
                {"environments", r.environments}};
}

Json to_json(const release::PointerMove& m) {
    return Json{
        {"env", m.env}, {"release", m.release_id}, {"previous", m.previous}, {"action", m.action},
        {"by", m.by},   {"at", rfc3339(m.at)}};
}

Json to_json(const release::PromoteOutcome& p) {
    return Json{{"promoted", p.promoted},         {"release", to_json(p.release)},
                {"approvals", p.approvals},       {"required", p.required},
                {"requested_by", p.requested_by}, {"approvers", p.approvers}};
}

Json to_json(const release::SiteStatus& s) {
    Json envs = Json::array();
    for (const auto& e : s.environments)
        envs.push_back(Json{{"name", e.name},
                            {"url", e.url},
                            {"release", e.release},
                            {"from_store", e.from_store},
                            {"protected", e.protected_env}});
    return Json{{"site", s.site},
                {"approvals_required", s.approvals_required},
                {"environments", std::move(envs)},
                {"pending", s.pending ? to_json(*s.pending) : Json(nullptr)}};
}

Json to_json(const release::Invalidation& i) {
    return Json{{"id", i.id},
                {"site", i.site},
                {"env", i.env},
                {"paths", i.paths},
                {"status", i.status},
                {"by", i.by},
                {"created", rfc3339(i.created)}};
}

Json to_json(const AuditRecord& r) {
    // The detail is stored as JSON text; shown as the object it is (as a string if a writer
    // put something else there, so nothing is lost).
    Json detail = Json::parse(r.event.detail, nullptr, /*allow_exceptions=*/false);
    if (detail.is_discarded()) detail = r.event.detail;
    return Json{{"seq", r.seq},
                {"time", rfc3339_ms(r.time)},
                {"source", r.event.source},
                {"principal", r.event.principal},
                {"action", r.event.action},
                {"target", r.event.target},
                {"outcome", r.event.outcome},
                {"detail", std::move(detail)},
                {"peer", r.event.peer},
                {"prev_hash", r.prev_hash},
                {"hash", r.hash}};
}

Json to_json(const Principal& p) {
    return Json{{"name", p.name}, {"role", role_name(p.role)}, {"created", rfc3339(p.created)}};
}

Json to_json(const Enrolment& e) {
    return Json{{"name", e.principal.name},
                {"role", role_name(e.principal.role)},
                {"token", e.token},
                {"totp_secret", e.totp_secret},
                {"otpauth_uri", e.otpauth_uri}};
}

bool is_sha256_hex(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

Result<std::string> string_member(const Json& body, const char* key, std::string fallback) {
    if (!body.is_object()) return make_error(Errc::kInvalidArgument, "body is not a JSON object");
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_string())
        return make_error(Errc::kInvalidArgument, std::string("\"") + key + "\" is not a string");
    return it->get<std::string>();
}

Result<std::vector<release::DeployFile>> deploy_files(const Json& body) {
    if (!body.is_object() || !body.contains("files") || !body["files"].is_array())
        return make_error(Errc::kInvalidArgument, "body needs \"files\": [...]");
    std::vector<release::DeployFile> out;
    for (const Json& f : body["files"]) {
        std::string at = "files[" + std::to_string(out.size()) + "]";
        if (!f.is_object()) return make_error(Errc::kInvalidArgument, at + " is not an object");
        release::DeployFile d;
        auto path = string_member(f, "path");
        auto sha = string_member(f, "sha256");
        auto type = string_member(f, "content_type");
        if (!path || !sha || !type) return make_error(Errc::kInvalidArgument, at + ": bad member");
        if (path->empty()) return make_error(Errc::kInvalidArgument, at + ": no path");
        if (!is_sha256_hex(*sha))
            return make_error(Errc::kInvalidArgument, at + ": sha256 is not 64 lower-case hex");
        if (auto s = f.find("size"); s != f.end() && !s->is_null()) {
            if (!s->is_number_unsigned())
                return make_error(Errc::kInvalidArgument, at + ": size is not a number");
            d.size = s->get<std::uint64_t>();
        }
        d.path = std::move(*path);
        d.sha256 = std::move(*sha);
        d.content_type = std::move(*type);
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace moat::admin::internal

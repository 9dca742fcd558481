#pragma once
// The JSON objects of docs/admin-api.md ("Objects"), built from the release service's and the
// admin part's structs, and DeployFile lists parsed from requests. Private to admin/.

#include <vector>

#include "admin/audit_log.h"
#include "admin/internal/api.h"
#include "admin/principals.h"
#include "release/service.h"

namespace moat::admin::internal {

Json to_json(const release::ReleaseInfo& r);
Json to_json(const release::PointerMove& m);
Json to_json(const release::PromoteOutcome& p);
Json to_json(const release::SiteStatus& s);
Json to_json(const release::Invalidation& i);
Json to_json(const AuditRecord& r);
Json to_json(const Principal& p);
Json to_json(const Enrolment& e);

// {"files":[DeployFile]}: path and sha256 (64 hex digits) required, size and content_type
// optional. kInvalidArgument naming the first bad entry.
Result<std::vector<release::DeployFile>> deploy_files(const Json& body);

// The string member `key` of a JSON object; `fallback` when absent or null, kInvalidArgument
// when it is not a string.
Result<std::string> string_member(const Json& body, const char* key, std::string fallback = {});

bool is_sha256_hex(std::string_view s);

}  // namespace moat::admin::internal

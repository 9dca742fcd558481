#pragma once
// The report card of `moat audit`: readable text (default) and JSON (--json, nlohmann-json).
// Pure functions of an AuditReport.

#include <string>

#include "audit/audit.h"

namespace moat::audit {

std::string report_text(const AuditReport& report);
// Pretty-printed JSON; field names are stable (docs/audit.md).
std::string report_json(const AuditReport& report);

}  // namespace moat::audit

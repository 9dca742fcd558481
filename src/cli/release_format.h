#pragma once
// What the release commands print, from the admin API's JSON answers (docs/admin-api.md).
// Pure functions: text in, text out; kInvalidArgument when an answer lacks what it should
// have (a server of another version), naming the field.

#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::cli {

// The text of a promote or approve answer (PromoteOutcome) and whether it is still pending:
// "production now serves r7", or "promotion of r7 to production is waiting for 1
// approval(s): moat approve example.com r7".
struct PromoteText {
    std::string text;
    bool pending = false;
};
Result<PromoteText> promote_text(std::string_view answer, std::string_view site);

// `moat releases`: a table of releases (id, created, by, source, files, size, environments),
// then the history of pointer moves.
Result<std::string> releases_text(std::string_view answer);

// `moat diff`: "+ path" added, "- path" removed, "~ path" changed, then a count line.
Result<std::string> diff_text(std::string_view answer);

// `moat audit-log show`: one line per record.
Result<std::string> audit_records_text(std::string_view answer);
// `moat audit-log verify`: the text and whether the log is intact.
struct VerifyText {
    std::string text;
    bool ok = false;
};
Result<VerifyText> audit_verify_text(std::string_view answer);

// `moat rollback`, `moat invalidate`, `moat backup`: one line each.
Result<std::string> rollback_text(std::string_view answer, std::string_view env);
Result<std::string> invalidation_text(std::string_view answer);
Result<std::string> backup_text(std::string_view answer);

}  // namespace moat::cli

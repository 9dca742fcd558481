#pragma once
// Output of `moat check mail`: a readable table, or JSON for machines, and the exit code that
// follows the worst result (0 PASS/INFO, 3 WARN, 1 FAIL; 2 stays "usage error").

#include <string>

#include "mail/checker.h"

namespace moat::mail {

std::string format_table(const CheckReport& report);
std::string format_json(const CheckReport& report);
int exit_code(const CheckReport& report);

}  // namespace moat::mail

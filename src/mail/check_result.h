#pragma once
// One line of `moat check mail`: a checklist id (reference mail.md §7: S1..S5, H1..H8, P1..P8,
// M1..M4, R1..R3, D1..D3), a status, a message and the RFC section it rests on.

#include <string>
#include <vector>

namespace moat::mail {

// Ordered by severity: the worst result decides the exit code.
enum class Status { kPass, kInfo, kWarn, kFail };

struct CheckResult {
    std::string id;
    Status status = Status::kInfo;
    std::string message;
    std::string rfc;  // "RFC 8461 §3.2"
};

inline const char* status_name(Status s) {
    switch (s) {
        case Status::kPass:
            return "PASS";
        case Status::kInfo:
            return "INFO";
        case Status::kWarn:
            return "WARN";
        case Status::kFail:
            return "FAIL";
    }
    return "?";
}

using CheckResults = std::vector<CheckResult>;

}  // namespace moat::mail

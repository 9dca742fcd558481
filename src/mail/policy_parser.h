#pragma once
// Strict reader of an MTA-STS policy body (RFC 8461 §3.2 ABNF) for `moat check mail`: it
// reports every deviation (BOM, bare CR, blank lines, "key : value", bad mx patterns, ...) as
// checklist results P1..P8 and extracts the fields the way the RFC says (first duplicate wins).
// Pure; no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/check_result.h"

namespace moat::mail {

struct ParsedPolicy {
    std::optional<std::string> version, mode;
    std::optional<std::int64_t> max_age;
    std::vector<std::string> mx;  // as written (lower-cased for matching by the caller)
    bool valid = false;           // no FAIL result: a sender would accept it
    CheckResults results;
};

ParsedPolicy parse_policy(std::string_view body);

// The _mta-sts TXT record (RFC 8461 §3.1), after the strings of one record were joined.
struct ParsedStsRecord {
    bool valid = false;
    std::string id;        // first id
    CheckResults results;  // S4
};
ParsedStsRecord parse_sts_record(std::string_view txt);

// The _smtp._tls TXT record (RFC 8460 §3).
struct ParsedTlsRptRecord {
    bool valid = false;
    std::vector<std::string> rua;
    CheckResults results;  // R2
};
ParsedTlsRptRecord parse_tlsrpt_record(std::string_view txt);

// RFC 3629 UTF-8 validity (no overlongs, no surrogates).
bool valid_utf8(std::string_view s);

}  // namespace moat::mail

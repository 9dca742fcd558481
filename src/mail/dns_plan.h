#pragma once
// `moat dns <name>`: every DNS record the owner must publish for a site or an MTA-STS policy
// domain, and the comparison of that plan with live DNS (`--check`). Building the plan is pure;
// check_plan() queries through a Resolver and blocks.

#include <string>
#include <string_view>
#include <vector>

#include "mail/resolver.h"
#include "mail/settings.h"

namespace moat::mail {

struct DnsRecord {
    std::string name;  // owner name, no trailing dot
    int ttl = 3600;
    std::string type;          // "A", "AAAA", "TXT", "CAA"
    std::string value;         // presentation form without quotes for TXT ("v=STSv1; id=...")
    std::string why;           // one line for the reader
    bool placeholder = false;  // value is a placeholder the owner must fill in
};

struct DnsPlan {
    std::vector<DnsRecord> records;
    std::vector<std::string> notes;
};

// What the plan needs to know about this server and its certificates.
struct PlanInputs {
    std::vector<std::string> addresses;    // public IPs of this server; empty: placeholders
    std::vector<std::string> caa_issuers;  // CAA issue values; empty: no CAA record, a note
    std::string caa_note;                  // why there is no CAA (internal CA, own files)
};

// Records for an MTA-STS policy domain served by moat, with the current TXT id.
DnsPlan plan_mail(const MailDomain& d, const std::string& id, const PlanInputs& in);
// Records for an ordinary site: A/AAAA and CAA for each host name.
DnsPlan plan_site(const std::vector<std::string>& hosts, const PlanInputs& in);

// Zone-file style lines ("name. TTL IN TYPE value") with the why as a comment.
std::string format_plan(const DnsPlan& plan);

// Live comparison of one planned record.
struct RecordCheck {
    const DnsRecord* record = nullptr;
    enum class State { kOk, kMissing, kDifferent, kStale, kError } state = State::kOk;
    std::string detail;  // what DNS has
};
std::vector<RecordCheck> check_plan(const DnsPlan& plan, Resolver& resolver);
const char* state_name(RecordCheck::State s);

}  // namespace moat::mail

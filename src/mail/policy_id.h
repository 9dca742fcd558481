#pragma once
// The `id` of a domain's _mta-sts TXT record (RFC 8461 §3.1). Senders re-fetch the policy only
// when the id changes, so it must change whenever the served policy changes and should not
// change otherwise. moat derives it from the policy bytes and persists it per domain in
// <state_dir>/<domain>.sts: the first time a policy text is seen it gets
// "<UTC YYYYMMDDHHMMSS><first 8 hex digits of its SHA-256>" (22 letters/digits, within the
// 1*32 ALPHA/DIGIT rule); while the text keeps the same hash the stored id is returned.
// Blocking file I/O: call at start-up, on reload, or from the CLI, never on a worker.

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::mail {

struct PolicyId {
    std::string id;
    std::string sha256;       // hex SHA-256 of the policy text
    bool bumped = false;      // this call assigned a new id (the policy changed or was new)
    std::string previous_id;  // the id before a bump; empty when none was stored
};

// Hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Returns the id for `policy`, assigning and persisting a new one when the stored hash differs
// (or nothing is stored). The state file is written to a temp file and renamed, so a crash
// leaves the old or the new state. Errors: kIo (the folder or file cannot be written or read),
// kInvalidArgument (a corrupt state file is replaced, not an error; a bad domain is).
Result<PolicyId> current_policy_id(const std::string& state_dir, const std::string& domain,
                                   std::string_view policy,
                                   std::chrono::system_clock::time_point now);

// The stored state without changing it: id and hash, or kNotFound.
Result<PolicyId> stored_policy_id(const std::string& state_dir, const std::string& domain);

}  // namespace moat::mail

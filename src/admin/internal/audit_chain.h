#pragma once
// The audit log's hash chain, apart from its storage: the canonical text of a record, its
// link hash, and the walk that checks a sequence of records against the chain and the head
// file. Private to admin/.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "admin/audit_log.h"

namespace moat::admin::internal {

inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct ChainHead {
    std::uint64_t seq = 0;
    std::string hash;
};

// JSON array [seq, time (RFC 3339, ms), source, principal, action, target, outcome, detail,
// peer]: fixed order, no whitespace, the detail as a string.
std::string canonical(const AuditRecord& r);
// hex HMAC-SHA256(key, prev_hash || canonical(r)).
std::string chain_hash(std::string_view key, const AuditRecord& r);

// Feed records in seq order, then finish() with the head file (nullopt: absent;
// head_error: it could not be read).
class ChainVerifier {
public:
    explicit ChainVerifier(std::string key) : key_(std::move(key)) {}
    // The head file's (seq, hash), before the records are added.
    void expect_head(const ChainHead& h) { head_ = h; }
    void add(const AuditRecord& r);
    AuditVerifyReport finish(const std::optional<ChainHead>& head, const std::string& head_error);

private:
    void problem(std::string p);

    std::string key_;
    AuditVerifyReport report_;
    ChainHead last_{0, std::string(kZeroHash)};
    std::optional<ChainHead> head_;
    bool head_matched_ = false;  // the record the head names has the head's hash
};

}  // namespace moat::admin::internal

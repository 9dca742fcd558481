#pragma once
// The audit log: every admin action and every S3 write, appended with a hash chain. Record n
// carries hash_n = HMAC-SHA256(admin key, hash_{n-1} || canonical(record n)), so editing or
// deleting a record breaks every later link; the head (seq, hash) is also kept in a file
// beside the database (<audit db>.head, replaced atomically on each append; not fsynced, so after a
// power loss it may lag, which verify() accepts when the record it names is intact) so that cutting
// records off the end is seen too. SQLite (AdminSettings::audit_db_path). Thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "admin/settings.h"
#include "core/result.h"

namespace moat::admin {

struct AuditEvent {
    std::string source;     // "admin", "s3", "cli" (offline commands)
    std::string principal;  // who; "-" when anonymous or refused before auth
    std::string action;     // "deploy", "promote", "approve", "s3:PutObject" ...
    std::string target;     // "site/env", "bucket/key" ...
    std::string outcome;    // "ok", "denied", "error: ..."
    std::string detail;     // a JSON object as text ("{}" when nothing)
    std::string peer;       // remote address, "" when local
};

struct AuditRecord {
    std::uint64_t seq = 0;  // from 1, no gaps
    std::chrono::system_clock::time_point time;
    AuditEvent event;
    std::string prev_hash;  // hex; 64 zeros for seq 1
    std::string hash;       // hex
};

struct AuditVerifyReport {
    bool ok = true;
    std::uint64_t records = 0;
    std::vector<std::string> problems;  // "record 17: hash does not match its content" ...
};

class AuditLog {
public:
    static Result<std::unique_ptr<AuditLog>> open(const AdminSettings& settings);
    virtual ~AuditLog() = default;
    // Durable when it returns (WAL commit). Appends are serialised.
    virtual Result<AuditRecord> append(AuditEvent e) = 0;
    // Records with seq > after, oldest first, at most limit.
    virtual Result<std::vector<AuditRecord>> records(std::uint64_t after, int limit) = 0;
    virtual Result<AuditVerifyReport> verify() = 0;
};

}  // namespace moat::admin

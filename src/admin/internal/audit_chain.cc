#include "admin/internal/audit_chain.h"

#include <nlohmann/json.hpp>

#include "admin/internal/crypto.h"
#include "admin/internal/time_text.h"

namespace moat::admin::internal {
namespace {

// Past this many, a damaged log would only flood the answer; the count still says how bad.
constexpr std::size_t kMaxProblems = 200;

}  // namespace

std::string canonical(const AuditRecord& r) {
    const AuditEvent& e = r.event;
    nlohmann::json a = nlohmann::json::array({r.seq, rfc3339_ms(r.time), e.source, e.principal,
                                              e.action, e.target, e.outcome, e.detail, e.peer});
    // Invalid UTF-8 (a peer's bytes in a key name) is replaced rather than thrown on: the
    // text stays deterministic, which is all the chain needs.
    return a.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string chain_hash(std::string_view key, const AuditRecord& r) {
    return hex(hmac_sha256(key, r.prev_hash + canonical(r)));
}

void ChainVerifier::problem(std::string p) {
    report_.ok = false;
    if (report_.problems.size() < kMaxProblems) report_.problems.push_back(std::move(p));
}

void ChainVerifier::add(const AuditRecord& r) {
    ++report_.records;
    std::string at = "record " + std::to_string(r.seq) + ": ";
    if (r.seq != last_.seq + 1) {
        if (r.seq > last_.seq + 1) {
            problem(at + "records " + std::to_string(last_.seq + 1) + ".." +
                    std::to_string(r.seq - 1) + " are missing (deleted)");
        } else {
            problem(at + "out of sequence after record " + std::to_string(last_.seq));
        }
    } else if (r.prev_hash != last_.hash) {
        problem(at + "prev_hash does not match the hash of record " + std::to_string(last_.seq));
    }
    if (!equal_ct(chain_hash(key_, r), r.hash))
        problem(at + "hash does not match its content (edited)");
    if (head_ && r.seq == head_->seq) head_matched_ = (r.hash == head_->hash);
    last_ = ChainHead{r.seq, r.hash};
}

AuditVerifyReport ChainVerifier::finish(const std::optional<ChainHead>& head,
                                        const std::string& head_error) {
    if (!head_error.empty()) {
        problem("head file: " + head_error);
    } else if (!head) {
        if (last_.seq > 0)
            problem("head file missing while the log holds " + std::to_string(last_.seq) +
                    " records");
    } else if (head->seq != last_.seq || head->hash != last_.hash) {
        if (head->seq > last_.seq) {
            problem("head file names record " + std::to_string(head->seq) +
                    " but the log ends at record " + std::to_string(last_.seq) +
                    " (records removed from the end)");
        } else if (head->seq < last_.seq) {
            // A head that lags (no fsync: a power loss may keep an older one) is fine when the
            // record it names is intact; the later records were checked by their HMACs.
            if (!head_matched_)
                problem("head file names record " + std::to_string(head->seq) +
                        " but that record's hash differs (the log was rewritten)");
        } else {
            problem("head file hash differs from record " + std::to_string(last_.seq));
        }
    }
    return report_;
}

}  // namespace moat::admin::internal

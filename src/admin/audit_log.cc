#include "admin/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "admin/internal/audit_chain.h"
#include "admin/internal/crypto.h"
#include "admin/internal/db.h"
#include "admin/internal/time_text.h"
#include "core/log.h"

namespace moat::admin {
namespace {

using internal::Db;
using internal::Stmt;
using internal::Txn;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS records (
    seq       INTEGER PRIMARY KEY,
    time_ms   INTEGER NOT NULL,
    source    TEXT NOT NULL,
    principal TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    peer      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
)sql";

constexpr const char* kColumns =
    "seq, time_ms, source, principal, action, target, outcome, detail, peer, prev_hash, hash";

AuditRecord record_row(const Stmt& s) {
    AuditRecord r;
    r.seq = static_cast<std::uint64_t>(s.i64(0));
    r.time = internal::from_unix_ms(s.i64(1));
    r.event.source = s.text(2);
    r.event.principal = s.text(3);
    r.event.action = s.text(4);
    r.event.target = s.text(5);
    r.event.outcome = s.text(6);
    r.event.detail = s.text(7);
    r.event.peer = s.text(8);
    r.prev_hash = s.text(9);
    r.hash = s.text(10);
    return r;
}

Error io_error(const std::string& what) {
    return make_error(Errc::kIo, what + ": " + std::strerror(errno));
}

// "<seq> <hash>\n"; nullopt when the file does not exist.
Result<std::optional<internal::ChainHead>> read_head(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::optional<internal::ChainHead>();
        return io_error("stat " + path);
    }
    std::ifstream in(path);
    if (!in) return make_error(Errc::kIo, "cannot read " + path);
    internal::ChainHead h;
    if (!(in >> h.seq >> h.hash) || h.hash.size() != 64)
        return make_error(Errc::kInvalidArgument, path + ": not \"<seq> <hash>\"");
    return std::optional<internal::ChainHead>(h);
}

// Temp file, rename: the head is either the old or the new one. Not fsynced: the records are
// durable by the database's commit; the head is an anchor against cutting records off the end,
// and after a power loss it may lag behind the last records, which verify() accepts when the
// record it names is intact (the later ones still carry their HMACs). Two fsyncs per append
// (one per S3 write) were twice the cost of the record itself.
Result<void> write_head(const std::string& path, const internal::ChainHead& h) {
    std::string tmp = path + ".tmp";
    std::string text = std::to_string(h.seq) + " " + h.hash + "\n";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("create " + tmp);
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    Error e = ok ? Error{} : io_error("write " + tmp);
    ::close(fd);
    if (!ok) return e;
    if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("rename " + tmp);
    return {};
}

class SqliteAuditLog : public AuditLog {
public:
    SqliteAuditLog(std::unique_ptr<Db> db, std::string key, std::string head_path)
        : db_(std::move(db)), key_(std::move(key)), head_path_(std::move(head_path)) {}

    Result<AuditRecord> append(AuditEvent e) override {
        if (e.detail.empty()) e.detail = "{}";
        std::lock_guard lock(mu_);
        Txn txn(*db_);
        MOAT_TRY(txn.begin());
        auto last = last_record();
        if (!last) return last.error();
        auto head = read_head(head_path_);
        if (!head) return head.error();
        // Chain from the head file when it is at or beyond the database's last record: if
        // records were cut off the end, the next record then leaves a gap verify() reports,
        // instead of silently taking the place of the removed one.
        internal::ChainHead from = *last;
        if (*head && (*head)->seq >= last->seq) {
            if ((*head)->seq != last->seq || (*head)->hash != last->hash)
                core::logger("admin")->warn(
                    "audit log head file and database disagree head_seq={} db_seq={}", (*head)->seq,
                    last->seq);
            from = **head;
        }
        AuditRecord r;
        r.seq = from.seq + 1;
        r.time = std::chrono::time_point_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now());
        r.event = std::move(e);
        r.prev_hash = from.hash;
        r.hash = internal::chain_hash(key_, r);
        auto st = db_->prepare(
            "INSERT INTO records(seq, time_ms, source, principal, action, target, outcome,"
            " detail, peer, prev_hash, hash) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
        if (!st) return st.error();
        st->bind(1, static_cast<std::int64_t>(r.seq))
            .bind(2, internal::unix_ms(r.time))
            .bind(3, r.event.source)
            .bind(4, r.event.principal)
            .bind(5, r.event.action)
            .bind(6, r.event.target)
            .bind(7, r.event.outcome)
            .bind(8, r.event.detail)
            .bind(9, r.event.peer)
            .bind(10, r.prev_hash)
            .bind(11, r.hash);
        MOAT_TRY(st->run());
        // The head is replaced while the write lock is held (other processes append too), so
        // heads and records advance together. A crash between here and the commit leaves the
        // head one ahead: verify() then reports a missing last record.
        internal::ChainHead old = from;
        MOAT_TRY(write_head(head_path_, internal::ChainHead{r.seq, r.hash}));
        if (auto c = txn.commit(); !c) {
            (void)write_head(head_path_, old);
            return c.error();
        }
        return r;
    }

    Result<std::vector<AuditRecord>> records(std::uint64_t after, int limit) override {
        std::lock_guard lock(mu_);
        static const std::string sql = std::string("SELECT ") + kColumns +
                                       " FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        auto st = db_->prepare(sql.c_str());
        if (!st) return st.error();
        st->bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(limit));
        std::vector<AuditRecord> out;
        for (;;) {
            auto row = st->step();
            if (!row) return row.error();
            if (!*row) return out;
            out.push_back(record_row(*st));
        }
    }

    Result<AuditVerifyReport> verify() override {
        std::lock_guard lock(mu_);
        static const std::string sql =
            std::string("SELECT ") + kColumns + " FROM records ORDER BY seq";
        // One read transaction: a consistent snapshot while appends from other processes go on.
        Txn txn(*db_);
        // IMMEDIATE: no append (from another process either) between the records and the head file.
        MOAT_TRY(txn.begin());
        auto st = db_->prepare(sql.c_str());
        if (!st) return st.error();
        internal::ChainVerifier v(key_);
        auto head = read_head(head_path_);
        if (head && *head) v.expect_head(**head);
        for (;;) {
            auto row = st->step();
            if (!row) return row.error();
            if (!*row) break;
            v.add(record_row(*st));
        }
        MOAT_TRY(txn.commit());
        if (!head) return v.finish(std::nullopt, head.error().detail);
        return v.finish(*head, "");
    }

private:
    Result<internal::ChainHead> last_record() {
        auto st = db_->prepare("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1");
        if (!st) return st.error();
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return internal::ChainHead{0, std::string(internal::kZeroHash)};
        return internal::ChainHead{static_cast<std::uint64_t>(st->i64(0)), st->text(1)};
    }

    std::mutex mu_;
    std::unique_ptr<Db> db_;
    std::string key_;  // derived from the admin key, only for the chain
    std::string head_path_;
};

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::open(const AdminSettings& settings) {
    auto key = internal::load_or_create_key(settings.key_file);
    if (!key) return key.error();
    auto db = Db::open(settings.audit_db_path);
    if (!db) return db.error();
    MOAT_TRY((*db)->exec(kSchema));
    return std::unique_ptr<AuditLog>(
        new SqliteAuditLog(std::move(*db), internal::derive_key(*key, "moat admin audit-chain v1"),
                           settings.audit_db_path + ".head"));
}

}  // namespace moat::admin

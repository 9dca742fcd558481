#include "admin/principals.h"

#include <mutex>

#include "admin/internal/crypto.h"
#include "admin/internal/db.h"
#include "admin/internal/time_text.h"
#include "admin/totp.h"

namespace moat::admin {
namespace {

using internal::Db;
using internal::Stmt;
using internal::Txn;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS principals (
    name        TEXT PRIMARY KEY,
    role        INTEGER NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the token
    totp_sealed BLOB NOT NULL,         -- AES-256-GCM of the base32 secret, aad = name
    last_step   INTEGER NOT NULL DEFAULT 0,  -- newest TOTP step accepted (replay guard)
    created_ms  INTEGER NOT NULL
);
)sql";

constexpr std::string_view kTokenPrefix = "moat_";
constexpr std::size_t kTokenChars = 43;  // base64url of 32 bytes, no padding

bool valid_name(std::string_view n) {
    if (n.empty() || n.size() > 64) return false;
    for (char c : n) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '@' || c == '-';
        if (!ok) return false;
    }
    return true;
}

Principal principal_row(const Stmt& s) {
    Principal p;
    p.name = s.text(0);
    p.role = static_cast<Role>(s.i64(1));
    p.created = internal::from_unix_ms(s.i64(2));
    return p;
}

class SqlitePrincipals : public Principals {
public:
    SqlitePrincipals(std::unique_ptr<Db> db, std::string seal_key, std::string issuer)
        : db_(std::move(db)), seal_key_(std::move(seal_key)), issuer_(std::move(issuer)) {}

    Result<Enrolment> create(std::string_view name, Role role) override {
        if (!valid_name(name))
            return make_error(Errc::kInvalidArgument,
                              "principal names are 1-64 of A-Z a-z 0-9 . _ @ -");
        std::lock_guard lock(mu_);
        Enrolment en = fresh(name);
        en.principal.role = role;
        en.principal.created = std::chrono::time_point_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now());
        auto st = db_->prepare(
            "INSERT INTO principals(name, role, token_hash, totp_sealed, last_step, created_ms)"
            " VALUES(?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT(name) DO NOTHING");
        if (!st) return st.error();
        st->bind(1, name)
            .bind(2, static_cast<std::int64_t>(role))
            .bind(3, internal::sha256_hex(en.token))
            .bind_blob(4, internal::seal(seal_key_, en.totp_secret, name))
            .bind(5, internal::unix_ms(en.principal.created));
        MOAT_TRY(st->run());
        if (db_->changes() == 0)
            return make_error(Errc::kConflict, "principal " + std::string(name) + " exists");
        return en;
    }

    Result<Enrolment> reset(std::string_view name) override {
        std::lock_guard lock(mu_);
        auto p = find(name);
        if (!p) return p.error();
        Enrolment en = fresh(name);
        en.principal = *p;
        auto st = db_->prepare(
            "UPDATE principals SET token_hash = ?2, totp_sealed = ?3, last_step = 0"
            " WHERE name = ?1");
        if (!st) return st.error();
        st->bind(1, name)
            .bind(2, internal::sha256_hex(en.token))
            .bind_blob(3, internal::seal(seal_key_, en.totp_secret, name));
        MOAT_TRY(st->run());
        return en;
    }

    Result<void> remove(std::string_view name) override {
        std::lock_guard lock(mu_);
        auto st = db_->prepare("DELETE FROM principals WHERE name = ?1");
        if (!st) return st.error();
        st->bind(1, name);
        MOAT_TRY(st->run());
        if (db_->changes() == 0) return not_found(name);
        return {};
    }

    Result<std::vector<Principal>> list() override {
        std::lock_guard lock(mu_);
        auto st = db_->prepare("SELECT name, role, created_ms FROM principals ORDER BY name");
        if (!st) return st.error();
        std::vector<Principal> out;
        for (;;) {
            auto row = st->step();
            if (!row) return row.error();
            if (!*row) break;
            out.push_back(principal_row(*st));
        }
        return out;
    }

    Result<Principal> authenticate(std::string_view token) override {
        Error denied = make_error(Errc::kDenied, "invalid token");
        if (token.size() != kTokenPrefix.size() + kTokenChars ||
            token.substr(0, kTokenPrefix.size()) != kTokenPrefix)
            return denied;
        std::string hash = internal::sha256_hex(token);
        std::lock_guard lock(mu_);
        auto st = db_->prepare(
            "SELECT name, role, created_ms, token_hash FROM principals WHERE token_hash = ?1");
        if (!st) return st.error();
        st->bind(1, hash);
        auto row = st->step();
        if (!row) return row.error();
        // The lookup is by hash, so timing reveals nothing about the token; the compare is
        // belt and braces against a collation surprise.
        if (!*row || !internal::equal_ct(st->text(3), hash)) return denied;
        return principal_row(*st);
    }

    Result<void> verify_totp(std::string_view name, std::string_view code,
                             std::chrono::system_clock::time_point now) override {
        Error denied = make_error(Errc::kDenied, "invalid one-time code");
        if (code.size() != 6) return denied;
        std::lock_guard lock(mu_);
        Txn txn(*db_);
        MOAT_TRY(txn.begin());
        auto st = db_->prepare("SELECT totp_sealed, last_step FROM principals WHERE name = ?1");
        if (!st) return st.error();
        st->bind(1, name);
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return denied;
        auto secret = internal::unseal(seal_key_, st->text(0), name);
        if (!secret)
            return make_error(Errc::kInternal, "TOTP secret of " + std::string(name) +
                                                   " does not unseal (admin key changed?)");
        std::int64_t last = st->i64(1);
        // RFC 6238 §5.2: accept the previous, current and next step, but each step once: a
        // code for a step not newer than the last accepted one is a replay.
        std::int64_t step = totp_step(now);
        std::int64_t accepted = 0;
        for (std::int64_t s = step - 1; s <= step + 1; ++s) {
            auto c = totp_code(*secret, s);
            if (c && internal::equal_ct(*c, code) && s > last && accepted == 0) accepted = s;
        }
        if (accepted == 0) return denied;
        auto up = db_->prepare("UPDATE principals SET last_step = ?2 WHERE name = ?1");
        if (!up) return up.error();
        up->bind(1, name).bind(2, accepted);
        MOAT_TRY(up->run());
        return txn.commit();
    }

private:
    static Error not_found(std::string_view name) {
        return make_error(Errc::kNotFound, "no principal " + std::string(name));
    }

    Result<Principal> find(std::string_view name) {
        auto st = db_->prepare("SELECT name, role, created_ms FROM principals WHERE name = ?1");
        if (!st) return st.error();
        st->bind(1, name);
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) return not_found(name);
        return principal_row(*st);
    }

    Enrolment fresh(std::string_view name) const {
        Enrolment en;
        en.principal.name = std::string(name);
        en.token = std::string(kTokenPrefix) + internal::base64url(internal::random_bytes(32));
        en.totp_secret = new_totp_secret();
        en.otpauth_uri = otpauth_uri(issuer_, name, en.totp_secret);
        return en;
    }

    std::mutex mu_;
    std::unique_ptr<Db> db_;
    std::string seal_key_;  // derived from the admin key, only for TOTP secrets
    std::string issuer_;
};

}  // namespace

std::string_view role_name(Role r) {
    switch (r) {
        case Role::kViewer:
            return "viewer";
        case Role::kDeployer:
            return "deployer";
        case Role::kApprover:
            return "approver";
        case Role::kAdmin:
            return "admin";
    }
    return "viewer";
}

Result<Role> parse_role(std::string_view s) {
    for (Role r : {Role::kViewer, Role::kDeployer, Role::kApprover, Role::kAdmin})
        if (role_name(r) == s) return r;
    return make_error(Errc::kInvalidArgument,
                      "role must be viewer, deployer, approver or admin, not " + std::string(s));
}

Result<std::unique_ptr<Principals>> Principals::open(const AdminSettings& settings) {
    auto key = internal::load_or_create_key(settings.key_file);
    if (!key) return key.error();
    auto db = Db::open(settings.db_path);
    if (!db) return db.error();
    MOAT_TRY((*db)->exec(kSchema));
    return std::unique_ptr<Principals>(
        new SqlitePrincipals(std::move(*db), internal::derive_key(*key, "moat admin totp-seal v1"),
                             settings.totp_issuer));
}

}  // namespace moat::admin

// LocalStore: S3 access keys. The secret is sealed by the master key (AES-256-GCM, AAD naming
// the key id) before it reaches SQLite; it is never logged.
#include "store/internal/codec.h"
#include "store/internal/crypto.h"
#include "store/internal/names.h"
#include "store/local_store.h"

namespace moat::store {

namespace {

std::string key_aad(std::string_view id) { return "moat access key " + std::string(id); }

// n characters from `alphabet` (its size divides 256, so no modulo bias).
std::string random_chars(std::size_t n, std::string_view alphabet) {
    std::string raw = internal::random_bytes(n);
    std::string out;
    for (unsigned char c : raw) out.push_back(alphabet[c % alphabet.size()]);
    return out;
}

Error no_key(std::string_view id) {
    return make_error(Errc::kNotFound,
                      "no such access key \"" + std::string(id.substr(0, 40)) + "\"");
}

}  // namespace

Result<KeyRecord> LocalStore::create_key(std::string_view principal, std::vector<Grant> grants) {
    if (principal.empty() || principal.size() > 128 || !internal::valid_utf8(principal))
        return make_error(Errc::kInvalidArgument, "principal must be 1 to 128 bytes of UTF-8");
    for (const auto& g : grants) {
        if (g.bucket != "*") MOAT_TRY(internal::check_bucket_name(g.bucket));
        if (!internal::valid_utf8(g.prefix) || g.prefix.size() > 1024)
            return make_error(Errc::kInvalidArgument,
                              "grant prefix must be UTF-8, at most 1024 bytes");
        if (!g.read && !g.write && !g.list)
            return make_error(Errc::kInvalidArgument, "a grant must allow read, write or list");
    }
    KeyRecord k;
    // AWS-like shapes: a 20-character id of upper-case letters and digits (base32 alphabet) and a
    // 40-character secret (240 random bits).
    k.access_key_id = "MOAT" + random_chars(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    k.secret = random_chars(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    k.principal = std::string(principal);
    k.grants = std::move(grants);
    std::int64_t now = internal::now_ns();
    k.created = internal::from_ns(now);
    std::shared_lock maint(maint_mu_);  // no rotation between choosing the key and the insert
    std::int64_t gen = keys_.current();
    std::string sealed = internal::seal_small(*keys_.key(gen), key_aad(k.access_key_id), k.secret);
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare(
        "INSERT INTO access_keys(id, principal, grants, created, key_gen, sealed_secret) "
        "VALUES(?, ?, ?, ?, ?, ?)");
    s.bind(1, k.access_key_id).bind(2, k.principal).bind_blob(3, internal::encode_grants(k.grants));
    s.bind(4, now).bind(5, gen).bind_blob(6, sealed);
    MOAT_TRY(s.run());
    return k;
}

Result<KeyRecord> LocalStore::find_key(std::string_view access_key_id) {
    std::shared_lock maint(maint_mu_);
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare(
        "SELECT id, principal, grants, created, key_gen, sealed_secret FROM access_keys "
        "WHERE id = ?");
    s.bind(1, access_key_id);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return no_key(access_key_id);
    KeyRecord k;
    k.access_key_id = s.text(0);
    k.principal = s.text(1);
    auto g = internal::decode_grants(s.text(2));
    if (!g) return make_error(Errc::kInternal, "access key " + k.access_key_id + ": bad grants");
    k.grants = std::move(*g);
    k.created = internal::from_ns(s.i64(3));
    auto secret = unseal(s.i64(4), key_aad(k.access_key_id), s.text(5));
    if (!secret) return secret.error();
    k.secret = std::move(*secret);
    return k;
}

Result<std::vector<KeyRecord>> LocalStore::keys() {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT id, principal, grants, created FROM access_keys ORDER BY id");
    std::vector<KeyRecord> out;
    for (;;) {
        auto r = s.step();
        if (!r) return r.error();
        if (!*r) break;
        KeyRecord k;
        k.access_key_id = s.text(0);
        k.principal = s.text(1);
        if (auto g = internal::decode_grants(s.text(2))) k.grants = std::move(*g);
        k.created = internal::from_ns(s.i64(3));
        out.push_back(std::move(k));
    }
    return out;
}

Result<void> LocalStore::delete_key(std::string_view access_key_id) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("DELETE FROM access_keys WHERE id = ?");
    MOAT_TRY(s.bind(1, access_key_id).run());
    if ((*c)->changes() == 0) return no_key(access_key_id);
    return {};
}

}  // namespace moat::store

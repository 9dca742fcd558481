#include "acme/store_lease.h"

#include <openssl/rand.h>

#include <nlohmann/json.hpp>

#include "acme/internal/crypto.h"
#include "acme/internal/store_io.h"
#include "store/store.h"

namespace moat::acme {
namespace {

using std::chrono::seconds;

struct Record {
    std::string owner;
    long long expires = 0;  // unix seconds
};

long long unix_seconds(Lease::TimePoint t) {
    return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

// A record nobody can parse (hand-edited, truncated) counts as free: the lease is a
// convenience against duplicate orders, not a guard of data.
Record parse(const std::string& text) {
    try {
        auto j = nlohmann::json::parse(text);
        return Record{j.at("owner").get<std::string>(), j.at("expires").get<long long>()};
    } catch (const nlohmann::json::exception&) {
        return Record{};
    }
}

// The token makes every record distinct, so an ETag (an MD5 of the content) names one write:
// re-taking a lease in the same second with the same owner still changes it.
std::string serialize(const std::string& owner, long long expires) {
    unsigned char r[8] = {0};
    RAND_bytes(r, sizeof r);
    nlohmann::json j = {
        {"owner", owner},
        {"expires", expires},
        {"token", internal::b64url(std::string_view(reinterpret_cast<const char*>(r), sizeof r))}};
    return j.dump() + "\n";
}

}  // namespace

Result<std::unique_ptr<StoreLease>> StoreLease::acquire(store::Store& st, std::string bucket,
                                                        std::string key, std::string owner,
                                                        seconds ttl, TimePoint now) {
    std::unique_ptr<StoreLease> lease(
        new StoreLease(st, std::move(bucket), std::move(key), std::move(owner), ttl));
    const std::string name = lease->bucket_ + "/" + lease->key_;
    store::PutOptions opts;
    auto cur = internal::get_object(st, lease->bucket_, lease->key_);
    if (cur) {
        Record rec = parse(cur->data);
        long long t = unix_seconds(now);
        if (!rec.owner.empty() && rec.owner != lease->owner_ && rec.expires > t)
            return make_error(Errc::kConflict, "ACME lock " + name + " held by " + rec.owner +
                                                   " for another " +
                                                   std::to_string(rec.expires - t) + "s");
        opts.if_match_etag = cur->info.etag;  // free or ours: take it unless it changes first
    } else if (cur.error().code == Errc::kNotFound) {
        opts.if_none_match_any = true;  // never written: create it unless someone else does
    } else {
        return cur.error();
    }
    auto put = internal::put_object(st, lease->bucket_, lease->key_,
                                    serialize(lease->owner_, unix_seconds(now + ttl)), opts);
    if (!put) {
        if (internal::lost_race(put.error()))
            return make_error(Errc::kConflict, "ACME lock " + name + " taken by another process");
        return put.error();
    }
    lease->etag_ = put->etag;
    return lease;
}

StoreLease::~StoreLease() { release(); }

Result<void> StoreLease::write(long long expires) {
    if (etag_.empty()) return make_error(Errc::kConflict, "ACME lock " + key_ + " not held");
    store::PutOptions opts;
    opts.if_match_etag = etag_;
    auto put = internal::put_object(store_, bucket_, key_, serialize(owner_, expires), opts);
    if (!put) {
        if (!internal::lost_race(put.error())) return put.error();
        etag_.clear();
        return make_error(Errc::kConflict,
                          "ACME lock " + bucket_ + "/" + key_ + " lost to another process");
    }
    etag_ = put->etag;
    return {};
}

Result<void> StoreLease::refresh(TimePoint now) { return write(unix_seconds(now + ttl_)); }

void StoreLease::release() {
    if (etag_.empty()) return;
    // Expired, not deleted: a lease that passed to another process keeps its record (the
    // ETag differs and this write fails).
    (void)write(0);
    etag_.clear();
}

}  // namespace moat::acme

#include "release/internal/variants.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <thread>

#include "content/internal/compress.h"
#include "content/internal/fs.h"
#include "content/mime.h"
#include "core/log.h"
#include "store/memory_body.h"

namespace moat::release::internal {

namespace {

using content::Encoding;

constexpr Encoding kCodings[] = {Encoding::kBrotli, Encoding::kZstd, Encoding::kGzip};

// gzip's tags have always been "-gz" (the file suffix); the others use the coding's name.
std::string_view tag_suffix(Encoding e) {
    return e == Encoding::kGzip ? std::string_view("gz") : content::encoding_name(e);
}

int rank(std::string_view encoding) {
    for (int i = 0; i < 3; ++i)
        if (content::encoding_name(kCodings[i]) == encoding) return i;
    return 3;
}

std::optional<Encoding> encoding_of(std::string_view name) {
    for (Encoding e : kCodings)
        if (content::encoding_name(e) == name) return e;
    return std::nullopt;
}

content::internal::Sha256 from_hex(std::string_view hex) {
    content::internal::Sha256 out{};
    auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (std::size_t i = 0; i < out.size() && 2 * i + 1 < hex.size(); ++i)
        out[i] = static_cast<std::uint8_t>(nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1]));
    return out;
}

Result<std::string> read_all(store::Store& store, const ManifestEntry& e) {
    auto r = store.open_object(e.bucket, e.key, e.version_id);
    if (!r) return r.error();
    std::string out;
    out.resize(e.size);
    std::uint64_t at = 0;
    while (at < e.size) {
        auto n = (*r)->read_at(at, out.data() + at, std::min<std::uint64_t>(e.size - at, 1 << 20));
        if (!n) return n.error();
        if (*n == 0) break;
        at += *n;
    }
    if (at != e.size)
        return make_error(Errc::kIo, "variants: " + e.key + " is shorter than its recorded size");
    return out;
}

}  // namespace

std::string identity_etag(std::string_view sha256_hex) {
    return content::internal::quoted_etag(content::internal::etag_token(from_hex(sha256_hex)));
}

std::string variant_etag(std::string_view sha256_hex, Encoding e) {
    return content::internal::quoted_etag(content::internal::etag_token(from_hex(sha256_hex)),
                                          tag_suffix(e));
}

bool VariantMaker::eligible(const ManifestEntry& e) const {
    return content::is_compressible(e.content_type) && e.size >= settings_.min_compress_size &&
           e.size <= settings_.max_compress_file;
}

Result<void> VariantMaker::ensure_bucket() {
    if (bucket_ready_) return {};
    // Unversioned: a variant's key names its content, so it is written once and never changes.
    auto r = store_.create_bucket(settings_.variants_bucket);
    if (!r && store::reason_of(r.error()) != store::Reason::kBucketExists) return r.error();
    bucket_ready_ = true;
    return {};
}

Result<std::vector<VariantRow>> VariantMaker::make(const ManifestEntry& e) {
    auto body = read_all(store_, e);
    if (!body) return body.error();
    std::vector<VariantRow> rows;
    for (Encoding c : kCodings) {
        int level = c == Encoding::kBrotli ? settings_.brotli_level
                    : c == Encoding::kZstd ? settings_.zstd_level
                                           : settings_.gzip_level;
        auto out = content::internal::compress(c, *body, level);
        // Kept only when it saves bytes: an incompressible content stays identity-only.
        if (!out || out->size() >= body->size()) continue;
        std::string key = "variants/" + e.sha256 + std::string(content::encoding_suffix(c));
        store::PutOptions opts;
        opts.attrs.content_type = e.content_type;
        opts.attrs.system_meta.emplace_back("content-encoding", content::encoding_name(c));
        opts.expected_size = out->size();
        store::MemoryBody src(*out);
        auto put = store_.put(settings_.variants_bucket, key, src, opts);
        if (!put) return put.error();
        rows.push_back(
            VariantRow{std::string(content::encoding_name(c)), key, put->version_id, out->size()});
    }
    // A row without key records "nothing was smaller", so the content is not compressed again.
    if (rows.empty()) rows.push_back(VariantRow{});
    return rows;
}

Result<void> VariantMaker::fill(std::vector<ManifestEntry>& entries, bool verify) {
    std::map<std::string, std::vector<VariantRow>> known;  // sha256 -> rows
    std::vector<const ManifestEntry*> todo;                // one entry per new content
    for (const auto& e : entries) {
        if (!eligible(e) || known.count(e.sha256)) continue;
        auto rows = db_.variants(e.sha256);
        if (!rows) return rows.error();
        if (verify && !rows->empty()) {
            for (const auto& r : *rows) {
                if (r.key.empty()) continue;
                auto h = store_.head(settings_.variants_bucket, r.key, r.version_id);
                if (h) continue;
                if (h.error().code != Errc::kNotFound) return h.error();
                MOAT_TRY(db_.delete_variants(e.sha256));
                rows->clear();
                break;
            }
        }
        if (rows->empty()) todo.push_back(&e);
        known.emplace(e.sha256, std::move(*rows));
    }
    if (!todo.empty()) {
        MOAT_TRY(ensure_bucket());
        std::vector<std::optional<Result<std::vector<VariantRow>>>> made(todo.size());
        std::atomic<std::size_t> next{0};
        auto work = [&] {
            for (std::size_t i; (i = next.fetch_add(1)) < todo.size();) made[i] = make(*todo[i]);
        };
        std::size_t n = std::clamp<std::size_t>(settings_.compress_threads, 1, todo.size());
        std::vector<std::thread> threads;
        for (std::size_t i = 1; i < n; ++i) threads.emplace_back(work);
        work();
        for (auto& t : threads) t.join();
        for (std::size_t i = 0; i < todo.size(); ++i) {
            if (!*made[i]) return made[i]->error();
            MOAT_TRY(db_.add_variants(todo[i]->sha256, **made[i]));
            known[todo[i]->sha256] = std::move(**made[i]);
        }
        core::logger("release")->info("variants made contents={}", todo.size());
    }
    for (auto& e : entries) {
        e.variants.clear();
        if (!eligible(e)) continue;
        for (const auto& r : known[e.sha256]) {
            auto enc = encoding_of(r.encoding);
            if (r.key.empty() || !enc) continue;
            e.variants.push_back(
                Variant{r.encoding, r.key, r.version_id, r.size, variant_etag(e.sha256, *enc)});
        }
        std::sort(e.variants.begin(), e.variants.end(), [](const Variant& a, const Variant& b) {
            return rank(a.encoding) < rank(b.encoding);
        });
    }
    return {};
}

}  // namespace moat::release::internal

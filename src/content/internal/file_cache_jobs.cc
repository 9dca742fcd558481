// FileCache: the background job queue. Hashes large files and siblings, and compresses
// identity bodies into br/zstd/gzip variants, on the cache's own threads.
#include <mutex>

#include "content/internal/compress.h"
#include "content/internal/file_cache_impl.h"

namespace moat::content {

namespace {

using internal::fd_matches;
using internal::kCodings;
using internal::kJobQueued;
using internal::kJobWanted;
using internal::Node;
using internal::Sibling;
using internal::tag_suffix;

}  // namespace

void FileCache::Impl::schedule(const std::shared_ptr<Node>& n) {
    int state = n->job.load(std::memory_order_relaxed);
    if (state == kJobQueued || !n->job.compare_exchange_strong(state, kJobQueued)) return;
    {
        std::lock_guard l(jmu);
        if (stop) return;
        if (queue.size() >= s.max_queued_jobs) {
            // Bounded: leave it for a later hit to queue again (see get()).
            n->job.store(kJobWanted, std::memory_order_relaxed);
            return;
        }
        queue.push_back(n);
    }
    jcv.notify_one();
}

void FileCache::Impl::run_jobs() {
    for (;;) {
        std::shared_ptr<Node> n;
        {
            std::unique_lock l(jmu);
            jcv.wait(l, [&] { return stop || !queue.empty(); });
            if (stop) return;
            n = std::move(queue.front());
            queue.pop_front();
            ++active;
        }
        if (!n->evicted.load(std::memory_order_acquire)) run_job(*n);
        n.reset();
        {
            std::lock_guard l(jmu);
            --active;
            if (queue.empty() && active == 0) idle_cv.notify_all();
        }
    }
}

void FileCache::Impl::run_job(Node& n) {
    auto ident = n.rep(Encoding::kIdentity);
    std::string data;  // the identity body when it is not in memory and compression needs it
    std::string token;
    if (n.need_hash) {
        int fd = ident->file->fd;
        bool keep = n.need_compress;
        if (keep) data.reserve(ident->size);
        auto h = internal::sha256_fd(fd, ident->size, keep ? &data : nullptr);
        // A read error or an in-place rewrite: publish nothing; the next get() sees the new
        // FileId and rebuilds the entry.
        if (!h || !fd_matches(fd, n.id)) return;
        token = internal::etag_token(*h);
        auto rep = std::make_shared<Representation>(*ident);
        rep->etag = internal::quoted_etag(token);
        publish(n, Encoding::kIdentity, std::move(rep), 0);
    } else if (ident->etag.size() > 2) {
        token = ident->etag.substr(1, ident->etag.size() - 2);
    }

    for (const Sibling& sib : n.siblings) {
        const auto& u = n.unhashed[static_cast<int>(sib.encoding)];
        if (!u) continue;
        auto h = internal::sha256_fd(u->file->fd, u->size, nullptr);
        if (!h || !fd_matches(u->file->fd, sib.id)) continue;
        auto rep = std::make_shared<Representation>(*u);
        rep->etag = internal::quoted_etag(internal::etag_token(*h), tag_suffix(sib.encoding));
        publish(n, sib.encoding, std::move(rep), 0);
    }

    if (!n.need_compress || token.empty()) return;
    std::string_view src = ident->bytes ? std::string_view(*ident->bytes) : data;
    if (src.size() != ident->size) return;
    for (Encoding e : kCodings) {
        if (n.sibling_set & encoding_bit(e)) continue;  // the site's own file takes precedence
        if (n.evicted.load(std::memory_order_relaxed)) return;
        int level = e == Encoding::kBrotli ? s.brotli_level
                    : e == Encoding::kZstd ? s.zstd_level
                                           : s.gzip_level;
        auto out = internal::compress(e, src, level);
        // Keep a variant only when it saves bytes; an incompressible file stays identity-only.
        if (!out || out->size() >= src.size()) continue;
        auto rep = std::make_shared<Representation>();
        rep->encoding = e;
        rep->size = out->size();
        rep->etag = internal::quoted_etag(token, tag_suffix(e));
        rep->bytes = std::make_shared<const std::string>(std::move(*out));
        std::uint64_t size = rep->size;
        if (publish(n, e, std::move(rep), size))
            compressions.fetch_add(1, std::memory_order_relaxed);
    }
}

}  // namespace moat::content

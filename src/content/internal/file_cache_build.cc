// FileCache: building entries. Reads a file (or keeps its descriptor when it is large),
// hashes it, and looks for its precompressed siblings (.br/.zst/.gz).
#include <sys/stat.h>

#include <chrono>
#include <cstring>

#include "content/http_date.h"
#include "content/internal/file_cache_impl.h"
#include "content/mime.h"

namespace moat::content {

namespace internal {

namespace {

std::int64_t steady_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

// The ETag suffix of a variant: "\"<hash>-br\"", "\"<hash>-zstd\"", "\"<hash>-gz\"". The coding's
// own name, except gzip, whose tags have always been "-gz" (the file suffix).
std::string_view tag_suffix(Encoding e) {
    return e == Encoding::kGzip ? std::string_view("gz") : encoding_name(e);
}

// Whether a usable precompressed sibling appeared since the entry was built. Deploy tools often
// write "app.js" first and "app.js.br" a moment later; without this the entry would lack the
// sibling until app.js itself changes. Runs at most once a second per entry, so the extra
// stat() calls stay off the common hit.
bool new_sibling_appeared(int root_fd, const std::string& rel, const Node& n) {
    char path[4096];
    for (Encoding e : kCodings) {
        if (n.sibling_set & encoding_bit(e)) continue;
        std::string_view suffix = encoding_suffix(e);
        if (rel.size() + suffix.size() + 1 > sizeof path) return false;
        std::memcpy(path, rel.data(), rel.size());
        std::memcpy(path + rel.size(), suffix.data(), suffix.size());
        path[rel.size() + suffix.size()] = '\0';
        struct stat st;
        if (::fstatat(root_fd, path, &st, 0) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            internal::file_id(st).mtime_ns >= n.id.mtime_ns)
            return true;
    }
    return false;
}

bool sibling_check_due(int root_fd, const std::string& rel, Node& n) {
    if (!n.precompressed || n.sibling_set == kAllCodings) return false;
    std::int64_t now = steady_seconds();
    if (now < n.sibling_check_at.load(std::memory_order_relaxed)) return false;
    n.sibling_check_at.store(now + 1, std::memory_order_relaxed);
    return new_sibling_appeared(root_fd, rel, n);
}

bool fd_matches(int fd, const FileId& id) {
    struct stat st;
    return ::fstat(fd, &st) == 0 && internal::file_id(st) == id;
}

}  // namespace internal

namespace {

using internal::fd_matches;
using internal::FileId;
using internal::kAllCodings;
using internal::kCodings;
using internal::Node;
using internal::Sibling;
using internal::tag_suffix;

}  // namespace

Result<std::shared_ptr<Node>> FileCache::Impl::build(int root_fd, std::string_view rel,
                                                     std::string key, internal::Resolved r,
                                                     bool pre, bool comp) {
    auto n = std::make_shared<Node>();
    auto ident = std::make_shared<Representation>();
    FileId id = internal::file_id(r.st);
    if (id.size <= s.max_memory_file) {
        // Read, then check that the descriptor still describes the same version: a writer may
        // be rewriting the file in place. Three tries, then report it.
        for (int attempt = 0;; ++attempt) {
            auto body = internal::read_exact(r.fd.get(), id.size);
            struct stat st;
            if (::fstat(r.fd.get(), &st) != 0)
                return make_error(Errc::kIo, "fstat failed after read");
            FileId now = internal::file_id(st);
            if (body && now == id) {
                ident->etag = internal::quoted_etag(internal::etag_token(internal::sha256(*body)));
                ident->bytes = std::make_shared<const std::string>(std::move(*body));
                break;
            }
            if (attempt == 2) {
                if (!body) return body.error();
                return make_error(Errc::kIo, "file keeps changing while being read");
            }
            id = now;
            r.st = st;
        }
        n->initial_mem += id.size;
    } else {
        // Too big to hold: serve from the descriptor, hash in the background.
        ident->file = std::make_shared<const edge::OpenFile>(r.fd.release());
        n->need_hash = true;
    }
    ident->encoding = Encoding::kIdentity;
    ident->size = id.size;

    n->path = std::string(rel);
    n->content_type = content_type_for(rel);
    n->compressible = is_compressible(n->content_type);
    n->mtime = r.st.st_mtim.tv_sec;
    n->last_modified = format_http_date(n->mtime);
    n->dev = id.dev;
    n->ino = id.ino;
    n->mtime_ns = id.mtime_ns;
    n->ctime_ns = id.ctime_ns;
    n->key = std::move(key);
    n->id = id;
    n->precompressed = pre;
    n->compress = comp;
    n->reps[0].store(std::move(ident), std::memory_order_release);
    n->available_mask.fetch_or(encoding_bit(Encoding::kIdentity), std::memory_order_release);

    if (pre) {
        for (Encoding e : kCodings) {
            std::string srel = n->path;
            srel.append(encoding_suffix(e));
            auto sr = internal::resolve_beneath(root_fd, srel.c_str());
            // An unreadable sibling is served as if absent: identity is always correct.
            if (!sr || sr->kind != Lookup::kFile) continue;
            FileId sid = internal::file_id(sr->st);
            // Older than the file: built from a previous version, so its content is stale.
            if (sid.mtime_ns < id.mtime_ns || sid.size == 0) continue;
            auto rep = std::make_shared<Representation>();
            rep->encoding = e;
            rep->size = sid.size;
            if (sid.size <= s.max_memory_file) {
                auto body = internal::read_exact(sr->fd.get(), sid.size);
                if (!body || !fd_matches(sr->fd.get(), sid)) continue;
                // Its own hash: the sibling is not necessarily the compression of this file's
                // bytes by moat's encoder, so it needs a validator of its own.
                rep->etag = internal::quoted_etag(internal::etag_token(internal::sha256(*body)),
                                                  tag_suffix(e));
                rep->bytes = std::make_shared<const std::string>(std::move(*body));
                n->initial_mem += sid.size;
                n->reps[static_cast<int>(e)].store(std::move(rep), std::memory_order_release);
                n->available_mask.fetch_or(encoding_bit(e), std::memory_order_release);
            } else {
                rep->file = std::make_shared<const edge::OpenFile>(sr->fd.release());
                n->unhashed[static_cast<int>(e)] = std::move(rep);  // published once hashed
            }
            n->siblings.push_back(Sibling{e, std::move(srel), sid});
            n->sibling_set |= encoding_bit(e);
        }
    }
    n->need_compress = comp && n->compressible && id.size >= s.min_compress_size &&
                       id.size <= s.max_compress_file && n->sibling_set != kAllCodings;
    return n;
}

}  // namespace moat::content

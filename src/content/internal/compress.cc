#include "content/internal/compress.h"

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>

namespace moat::content::internal {
namespace {

Result<std::string> brotli(std::string_view in, int level) {
    std::size_t cap = BrotliEncoderMaxCompressedSize(in.size());
    if (cap == 0) return make_error(Errc::kInvalidArgument, "brotli: input too large");
    std::string out(cap, '\0');
    std::size_t n = cap;
    int q = std::clamp(level, BROTLI_MIN_QUALITY, BROTLI_MAX_QUALITY);
    if (!BrotliEncoderCompress(q, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                               reinterpret_cast<const std::uint8_t*>(in.data()), &n,
                               reinterpret_cast<std::uint8_t*>(out.data())))
        return make_error(Errc::kInternal, "brotli: BrotliEncoderCompress failed");
    out.resize(n);
    return out;
}

Result<std::string> zstd(std::string_view in, int level) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    if (cctx == nullptr) return make_error(Errc::kInternal, "zstd: out of memory");
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    // RFC 9659 §3: decoders of the "zstd" content coding need not accept windows over 8 MB
    // (browsers refuse them). Levels up to 19 stay within 2^23; above, cap the window.
    if (level > 19) ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 23);
    std::string out(ZSTD_compressBound(in.size()), '\0');
    std::size_t n = ZSTD_compress2(cctx, out.data(), out.size(), in.data(), in.size());
    ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(n)) return make_error(Errc::kInternal, ZSTD_getErrorName(n));
    out.resize(n);
    return out;
}

Result<std::string> gzip(std::string_view in, int level) {
    if (in.size() > UINT_MAX) return make_error(Errc::kInvalidArgument, "gzip: input too large");
    z_stream zs{};
    // windowBits 15 + 16: the gzip wrapper (RFC 1952), which is what "gzip" means in HTTP.
    if (deflateInit2(&zs, std::clamp(level, 1, 9), Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return make_error(Errc::kInternal, "gzip: deflateInit2 failed");
    std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    std::size_t n = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return make_error(Errc::kInternal, "gzip: deflate did not finish");
    out.resize(n);
    return out;
}

}  // namespace

Result<std::string> compress(Encoding e, std::string_view in, int level) {
    switch (e) {
        case Encoding::kBrotli:
            return brotli(in, level);
        case Encoding::kZstd:
            return zstd(in, level);
        case Encoding::kGzip:
            return gzip(in, level);
        case Encoding::kIdentity:
            break;
    }
    return make_error(Errc::kInvalidArgument, "compress: identity is not a coding");
}

}  // namespace moat::content::internal

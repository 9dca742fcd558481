// libFuzzer target for the control-plane listener's request bodies (S3 and admin API,
// edge/service/body_reader.cc): Transfer-Encoding: chunked (RFC 9112 §7.1) as it arrives from
// any client, before anyone is authenticated (an unread body is drained). The bytes come
// through a real socket pair, as from a client that sends them and closes.
// Two modes, picked by the first byte:
// - raw: the input is the chunked body as sent. No crash, no hang; the decoded bytes are fewer
//   than the input's; an error is final (the next read gives it again).
// - round trip: the input is the payload, and the fuzzer frames it itself (chunk sizes, upper-
//   or lower-case hex, leading zeros, extensions and trailers chosen by the input). The reader
//   must return exactly the payload and end.

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "edge/service/internal/body_reader.h"
#include "fuzz_check.h"

namespace {

using namespace moat::edge::service_internal;

struct Decoded {
    std::string bytes;
    bool done = false;
    bool failed = false;
};

// Sends `wire` through a socket pair (then closes the sending end) and reads it as a chunked
// body, `piece` bytes per read.
Decoded decode(const std::string& wire, std::size_t piece) {
    Decoded out;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return out;
    int big = 1 << 20;
    ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    std::size_t at = 0;
    while (at < wire.size()) {
        ssize_t n = ::send(sv[0], wire.data() + at, wire.size() - at, MSG_NOSIGNAL);
        if (n <= 0) break;
        at += static_cast<std::size_t>(n);
    }
    ::close(sv[0]);
    SocketIo io(sv[1], nullptr);  // owns sv[1]
    InputBuffer in(io, 8192);
    BodyReader body(in, BodyReader::Framing::kChunked, 0, false, std::chrono::milliseconds(200));
    std::string buf(piece, '\0');
    for (int i = 0; i < 1000000; ++i) {
        auto r = body.read(buf.data(), buf.size());
        if (!r) {
            out.failed = true;
            auto again = body.read(buf.data(), buf.size());
            FUZZ_CHECK(!again && again.error().detail == r.error().detail);
            FUZZ_CHECK(body.failed() && !body.finished());
            return out;
        }
        FUZZ_CHECK(*r <= buf.size());
        if (*r == 0) break;
        out.bytes.append(buf.data(), *r);
    }
    out.done = body.finished();
    return out;
}

std::string hex(std::size_t v, bool upper, int zeros) {
    static const char* lo = "0123456789abcdef";
    static const char* up = "0123456789ABCDEF";
    std::string s;
    do {
        s.insert(s.begin(), (upper ? up : lo)[v % 16]);
        v /= 16;
    } while (v);
    return std::string(static_cast<std::size_t>(zeros), '0') + s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t mode = data[0];
    const std::size_t piece = 1 + data[1] * 37u;  // 1 .. 9436 bytes per read
    std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
    if (!(mode & 1)) {
        Decoded d = decode(std::string(in), piece);
        FUZZ_CHECK(d.bytes.size() <= in.size());
        FUZZ_CHECK(!(d.done && d.failed));
        return 0;
    }
    // Round trip: frame the payload. Chunk lengths cycle through the payload's own bytes.
    std::string wire;
    std::size_t at = 0, k = 0;
    while (at < in.size()) {
        std::size_t len = std::min<std::size_t>(
            in.size() - at, 1 + static_cast<std::uint8_t>(in[k++ % in.size()]) * 3u);
        wire += hex(len, mode & 2, (mode >> 2) & 3);
        if (mode & 16) wire += " ;name=\"v\";x";
        wire += "\r\n";
        wire.append(in.substr(at, len));
        wire += "\r\n";
        at += len;
    }
    wire += std::string(1 + ((mode >> 5) & 1), '0');
    wire += "\r\n";
    if (mode & 64) wire += "X-Checksum: abc\r\nX-Other:\r\n";
    wire += "\r\n";
    Decoded d = decode(wire, piece);
    FUZZ_CHECK(!d.failed);
    FUZZ_CHECK(d.done);
    FUZZ_CHECK(d.bytes == in);
    return 0;
}

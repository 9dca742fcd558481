#pragma once
// A transport-agnostic HTTP/2 server session (RFC 9113) over nghttp2. The caller owns the
// socket: it feeds received bytes to receive() and writes what produce() yields. One Session per
// connection, owned by the connection's coroutine and used only on its worker thread; nothing
// here blocks except the pread() of file bodies (page-cache reads, as nginx's sendfile does).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "edge/handler.h"
#include "edge/settings.h"

namespace moat::edge::http2 {

// What the connection tells the requests it carries; copied into the Session. (A subset of
// edge::ConnInfo, kept separate so this header needs no Asio.)
struct SessionInfo {
    bool secure = true;
    std::string_view sni;  // copied by create(): the caller need not keep it alive
    std::uint16_t local_port = 0;
    int worker = 0;
};

// Told about every stream whose request reached the Handler (or was answered 431 by the
// session), exactly once: when its response was fully handed to produce()'s output, when the
// stream was reset, or when the Session is destroyed with the stream still open. Streams reset
// before their request was complete are not reported. Runs on the worker, inside receive(),
// produce() or the destructor; it must not call back into the Session.
class Observer {
public:
    virtual ~Observer() = default;
    // req and res are valid only during the call. bytes_sent counts what the stream put on the
    // wire: its HEADERS frames and DATA frames (headers and payload), for the access log's
    // sc-bytes; completed is false when the stream ended before the whole response.
    virtual void on_response_done(const Request& req, const Response& res, std::uint64_t bytes_sent,
                                  bool completed) = 0;
};

// What produce() yields for the socket: frame bytes, and large response-body slices that stay
// where the body cache keeps them. A slice is sent after bytes[0, at) and before the rest, so a
// 16 KiB DATA frame costs no copy into `bytes` (one copy less per body byte: measured 6.7% of
// the CPU of serving a 2 MiB file). Each slice holds its body, which may outlive its stream.
struct Output {
    struct Slice {
        std::size_t at = 0;  // the slice follows bytes[0, at)
        const char* data = nullptr;
        std::size_t len = 0;
        std::shared_ptr<const std::string> hold;
    };
    std::string bytes;
    std::vector<Slice> slices;
    std::size_t sliced = 0;  // sum of slice lengths

    std::size_t size() const { return bytes.size() + sliced; }
    bool empty() const { return size() == 0; }
    void clear() {
        bytes.clear();
        slices.clear();
        sliced = 0;
    }
    // The output in order as pieces to write (views into bytes and into the slices).
    void pieces(std::vector<std::string_view>& out) const;
    // The output as one string (tests).
    std::string flat() const;
};

class Session {
public:
    // settings and handler must outlive the Session; observer may be null, else it must
    // outlive the Session too. Queues the server connection preface (SETTINGS).
    static std::unique_ptr<Session> create(const EdgeSettings& settings, Handler& handler,
                                           Observer* observer, SessionInfo conn);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Consumes bytes read from the peer; calls the Handler for each complete request.
    // Errors: kInvalidArgument on a protocol error (bad preface, HPACK failure), kDenied when
    // the peer floods us (rapid reset, control frames, CONTINUATION, unread ACKs). Either way
    // the session has queued GOAWAY when it could: flush produce() and close the connection.
    // Connection errors nghttp2 handles itself (e.g. a bad frame) may instead show up only as
    // a GOAWAY in produce()'s output followed by want_read() == false.
    Result<void> receive(const std::uint8_t* data, std::size_t len);

    // Appends frames to out: about max_bytes, at most one DATA frame (16 KiB) more. Returns
    // the number of bytes appended; 0 when nothing can be sent now (nothing pending, or only
    // data blocked by the peer's flow-control window: wait for input). Response bodies are read
    // lazily here, so a peer that does not read costs no memory beyond what the caller keeps.
    std::size_t produce(Output& out, std::size_t max_bytes);
    // The same, flattened into one string (tests, the fuzzer).
    std::size_t produce(std::string& out, std::size_t max_bytes);

    // Both false: the session is finished; close the connection.
    bool want_read() const;
    bool want_write() const;

    // Graceful drain (RFC 9113 §6.8): GOAWAY NO_ERROR with the last stream we processed;
    // open streams finish, new ones are ignored (the client retries them elsewhere).
    void shutdown();

    // Streams with a request in progress or a response not yet fully produced.
    std::size_t open_streams() const;

    class Impl;

private:
    explicit Session(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace moat::edge::http2

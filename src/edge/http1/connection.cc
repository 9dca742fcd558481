#include "edge/http1/connection.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "edge/http1/parser.h"
#include "edge/http1/response.h"
#include "edge/internal/linger.h"
#include "edge/stream.h"

namespace moat::edge::http1 {
namespace {

using Clock = std::chrono::steady_clock;
// Responses up to this size are copied into the batch buffer; larger ones are written from
// their own memory to avoid a copy.
constexpr std::size_t kInlineBody = 64 * 1024;
constexpr std::size_t kFlushAt = 64 * 1024;

void note(const Shared& sh, const ConnInfo& info, const Request& req, const Response& res,
          std::uint64_t bytes, Clock::time_point start, bool completed) {
    if (sh.observer) sh.observer->on_exchange(info, req, res, bytes, start, completed);
}

}  // namespace

template <class Stream>
asio::awaitable<void> serve(Stream& s, ConnControl& ctl, Deadline& dl, const ConnInfo& info,
                            WorkerState* w) {
    Shared& sh = *w->shared;
    const EdgeSettings& st = sh.settings;
    const Limits limits{st.max_header_bytes, st.max_target_bytes, st.max_headers};

    // The buffer starts small and grows up to one maximal head plus some pipelined bytes behind
    // it: most heads are under 1 KiB, and ten thousand idle keep-alive connections should not
    // hold 32 KiB each.
    const std::size_t in_limit = st.max_header_bytes + 16 * 1024;
    std::string in(std::min<std::size_t>(8 * 1024, in_limit), '\0');
    std::string out;
    std::size_t start = 0, have = 0;
    std::size_t served = 0;
    Request req;
    req.headers.reserve(32);

    auto flush = [&]() -> asio::awaitable<bool> {
        if (out.empty()) co_return true;
        dl.set(st.write_timeout);
        auto r = co_await s.write_all(out.data(), out.size());
        out.clear();
        co_return static_cast<bool>(r);
    };

    for (;;) {
        if (have > start) {
            ParseResult pr = parse_request(in.data() + start, have - start, limits, req);
            if (pr.status == ParseStatus::kError) {
                Response res;
                res.status = pr.error_status;
                res.no_body = true;
                res.result = ResultType::kError;
                std::size_t before = out.size();
                append_error(out, pr.error_status, pr.error_reason);
                note(sh, info, req, res, out.size() - before, Clock::now(), true);
                co_await flush();
                co_await linger_close(s, dl);
                co_return;
            }
            if (pr.status == ParseStatus::kComplete) {
                auto t0 = Clock::now();
                req.secure = Stream::kSecure;
                req.sni = info.sni;
                req.local_port = info.local_port;
                req.worker = w->index;
                // Only HTTP/1.0 may omit Host: the name the TLS handshake chose stands in.
                if (req.host.empty()) req.host = info.tls_host;
                Response res;
                sh.handler.load(std::memory_order_acquire)->handle(req, res);
                ++served;
                bool keep = pr.keep_alive && !res.close && !ctl.draining && !pr.has_body &&
                            (st.max_requests_per_connection == 0 ||
                             served < st.max_requests_per_connection);
                std::size_t before = out.size();
                append_head(out, res, req.version, keep);
                std::uint64_t sent = out.size() - before;
                bool ok = true;
                const Body& b = res.body;
                if (req.method != Method::kHead && !res.no_body && b.length > 0) {
                    if (b.bytes && b.length <= kInlineBody) {
                        out.append(b.bytes->data() + b.offset, b.length);
                    } else {
                        ok = co_await flush();
                        if (ok && b.bytes) {
                            dl.set(st.write_timeout);
                            ok = static_cast<bool>(
                                co_await s.write_all(b.bytes->data() + b.offset, b.length));
                        } else if (ok && b.file) {
                            dl.set(st.write_timeout);
                            ok = static_cast<bool>(
                                co_await s.send_file(b.file->fd, b.offset, b.length));
                        }
                    }
                    sent += b.length;
                }
                if (ok && out.size() >= kFlushAt) ok = co_await flush();
                note(sh, info, req, res, sent, t0, ok);
                if (!ok) co_return;
                start += pr.consumed;
                if (!keep) {
                    if (!co_await flush()) co_return;
                    // Nothing more from the client (no body, no pipelined bytes): close at
                    // once, as nginx does, so our FIN follows the response and TIME_WAIT stays
                    // on this side, not on the client's ports. Unread input still gets the
                    // lingering close, or the kernel would answer it with RST (RFC 9112 §9.6).
                    if (start == have && !pr.has_body && !s.input_pending())
                        s.shutdown();
                    else
                        co_await linger_close(s, dl);
                    co_return;
                }
                continue;
            }
        }
        // Need more bytes: answer what was batched first.
        if (!co_await flush()) co_return;
        if (ctl.draining && start == have) co_return;
        if (start > 0) {
            std::memmove(in.data(), in.data() + start, have - start);
            have -= start;
            start = 0;
        }
        if (have == in.size()) {
            if (in.size() >= in_limit) co_return;  // cannot happen: the parser answers 431 first
            in.resize(std::min(in.size() * 2, in_limit));
        }
        bool fresh = (have == 0);
        if (fresh) dl.set(st.idle_timeout);  // keep-alive wait
        ctl.idle = fresh;
        auto n = co_await s.read_some(in.data() + have, in.size() - have);
        ctl.idle = false;
        if (!n || *n == 0) co_return;  // peer left, reset, or a timeout cancelled the read
        // The header timeout runs from the first byte of a request to its end (slowloris):
        // later partial reads do not extend it.
        if (fresh) dl.set(st.header_timeout);
        have += *n;
    }
}

template asio::awaitable<void> serve<PlainStream>(PlainStream&, ConnControl&, Deadline&,
                                                  const ConnInfo&, WorkerState*);
template asio::awaitable<void> serve<TlsStream>(TlsStream&, ConnControl&, Deadline&,
                                                const ConnInfo&, WorkerState*);

}  // namespace moat::edge::http1

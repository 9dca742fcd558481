#include "edge/http2/connection.h"

#include <algorithm>
#include <chrono>

#include "edge/http2/session.h"
#include "edge/internal/linger.h"

namespace moat::edge::http2 {
namespace {

using Clock = std::chrono::steady_clock;

// Forwards finished streams to the server's observer with the connection's details.
class ConnObserver : public Observer {
public:
    ConnObserver(ExchangeObserver* obs, const ConnInfo& info) : obs_(obs), info_(info) {}
    void on_response_done(const Request& req, const Response& res, std::uint64_t body_bytes,
                          bool completed) override {
        // nghttp2 does not tell when a stream's request arrived; the read that carried it is a
        // close lower bound for time-taken.
        if (obs_) obs_->on_exchange(info_, req, res, body_bytes, read_at, completed);
    }
    Clock::time_point read_at = Clock::now();

private:
    ExchangeObserver* obs_;
    const ConnInfo& info_;
};

// One write per round of frames: about four TLS records, enough to fill a loopback or LAN
// window without holding a slow client's data in memory.
constexpr std::size_t kWriteChunk = 64 * 1024;

}  // namespace

asio::awaitable<void> serve(TlsStream& s, ConnControl& ctl, Deadline& dl, const ConnInfo& info,
                            WorkerState* w) {
    Shared& sh = *w->shared;
    const EdgeSettings& st = sh.settings;
    auto handler = sh.handler.load(std::memory_order_acquire);
    ConnObserver observer(sh.observer, info);
    SessionInfo si{true, info.sni, info.local_port, w->index};
    auto session = Session::create(st, *handler, &observer, si);
    std::string in(16 * 1024, '\0');
    Output out;  // grows to about kWriteChunk + one frame on the first large response
    std::vector<std::string_view> parts;
    bool shut = false;
    bool was_idle = false;
    Clock::time_point idle_since;

    for (;;) {
        if (ctl.draining && !shut) {
            session->shutdown();  // GOAWAY: finish open streams, accept no new ones
            shut = true;
        }
        // Write everything the session has ready before reading again.
        while (session->want_write()) {
            out.clear();
            if (session->produce(out, kWriteChunk) == 0) break;  // blocked on flow control
            dl.set(st.write_timeout);
            parts.clear();
            out.pieces(parts);
            auto r = co_await s.write_all(parts);
            if (!r) co_return;
        }
        if (!session->want_read() && !session->want_write()) break;
        if (shut && session->open_streams() == 0) break;
        bool idle = session->open_streams() == 0;
        ctl.idle = idle;
        if (idle) {
            // idle_timeout runs from the end of the last stream: PING, SETTINGS or
            // WINDOW_UPDATE frames do not extend it, or a client could hold the connection
            // forever without a request.
            auto now = Clock::now();
            if (!was_idle) idle_since = now;
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                idle_since + st.idle_timeout - now);
            dl.set(std::max(left, std::chrono::milliseconds(0)));
        } else {
            dl.set(st.write_timeout);
        }
        was_idle = idle;
        auto n = co_await s.read_some(in.data(), in.size());
        ctl.idle = false;
        if (!n || *n == 0) co_return;
        observer.read_at = Clock::now();
        auto r = session->receive(reinterpret_cast<const std::uint8_t*>(in.data()), *n);
        if (!r) {
            // Flood or protocol error: the session queued GOAWAY; send it, then close.
            out.clear();
            while (session->produce(out, kWriteChunk) > 0) {
            }
            if (!out.empty()) {
                dl.set(st.write_timeout);
                parts.clear();
                out.pieces(parts);
                co_await s.write_all(parts);
            }
            break;
        }
    }
    co_await linger_close(s, dl);
}

}  // namespace moat::edge::http2

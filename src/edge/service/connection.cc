#include "edge/service/internal/connection.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <exception>

#include "core/log.h"
#include "core/text.h"
#include "edge/http1/parser.h"
#include "edge/service/internal/body_reader.h"
#include "edge/service/internal/input_buffer.h"
#include "edge/service/internal/response_writer.h"

namespace moat::edge::service_internal {
namespace {

// An unread request body up to this size is read and dropped so the connection can serve the
// next request; a larger one costs less as a new connection than as bytes read for nothing.
constexpr std::uint64_t kDrainLimit = 1 << 20;
// How long a closing connection keeps reading (and dropping) what the peer still sends, so the
// kernel does not answer it with a RST that destroys the response in flight (RFC 9112 §9.6).
constexpr auto kLingerTime = std::chrono::milliseconds(2000);
constexpr std::size_t kLingerBytes = 256 * 1024;

bool ieq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Whether a token appears in a comma-separated list header (Connection: a, close).
bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        if (ieq(core::trim_ows(list.substr(0, comma)), token)) return true;
        if (comma == list.npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// Reads and drops what the peer still sends after our half-close, bounded in time and bytes.
void linger_close(SocketIo& io) {
    io.close_notify();
    ::shutdown(io.fd(), SHUT_WR);
    const auto end = SteadyClock::now() + kLingerTime;
    std::size_t dropped = 0;
    char scratch[16 * 1024];
    while (dropped < kLingerBytes) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - SteadyClock::now());
        if (left.count() <= 0) break;
        pollfd p{io.fd(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        ssize_t n = ::recv(io.fd(), scratch, sizeof scratch, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        dropped += static_cast<std::size_t>(n);
    }
}

class Connection {
public:
    Connection(std::shared_ptr<ServerState> state, std::unique_ptr<SocketIo> io, PeerInfo peer)
        : state_(std::move(state)),
          s_(state_->settings),
          io_(std::move(io)),
          peer_(std::move(peer)),
          in_(*io_, std::max<std::size_t>(s_.max_header_bytes + 1, 64 * 1024)) {
        slot_.io = io_.get();
        std::lock_guard lock(state_->mu);
        state_->conns.insert(&slot_);
    }
    ~Connection() {
        std::lock_guard lock(state_->mu);
        state_->conns.erase(&slot_);
    }

    void run() {
        auto hs = io_->handshake(SteadyClock::now() + s_.handshake_timeout);
        if (!hs) {
            log()->debug("{} tls handshake failed peer={} err={}", s_.name, peer_.peer_ip,
                         hs.error().detail);
            return;
        }
        for (bool first = true;; first = false) {
            if (!serve_one(first)) break;
        }
    }

private:
    static std::shared_ptr<spdlog::logger> log() { return core::logger("edge"); }

    // An error answer to a request we could not hand over; the connection then closes.
    void answer_and_close(int status, std::string_view why) {
        log()->debug("{} refused request peer={} status={} reason={}", s_.name, peer_.peer_ip,
                     status, why);
        ResponseWriter res(*io_, false, 11, s_.io_timeout, [] { return false; });
        (void)res.send(status, {{"Content-Type", "text/plain"}}, std::string(why) + "\n");
        linger_close(*io_);
    }

    // Waits for a whole request head. kComplete: head_ holds it. Otherwise the connection ends
    // (an error was answered, or the peer left or idled out).
    http1::ParseStatus read_head(bool first) {
        if (in_.size() == 0) {
            // Between requests only: stop() may shut an idle connection down.
            if (!first && !state_->enter_idle(slot_)) return http1::ParseStatus::kError;
            auto n = in_.fill(SteadyClock::now() + (first ? s_.header_timeout : s_.idle_timeout));
            if (!first) state_->leave_idle(slot_);
            if (!n || *n == 0) return http1::ParseStatus::kError;
        }
        const Deadline deadline = SteadyClock::now() + s_.header_timeout;
        http1::Limits limits;
        limits.max_header_bytes = s_.max_header_bytes;
        limits.max_target_bytes = std::min<std::size_t>(s_.max_header_bytes, 16 * 1024);
        limits.max_headers = 200;
        std::size_t scanned = 0;
        for (;;) {
            // Parse only once an empty line arrived (or the buffer is full): re-parsing the
            // whole head on every byte of a slow sender would cost quadratic time.
            std::string_view d = in_.data();
            bool ready = in_.size() > s_.max_header_bytes;
            for (std::size_t i = scanned; i < d.size() && !ready; ++i) {
                if (d[i] != '\n') continue;
                if (i + 1 < d.size() && d[i + 1] == '\n') ready = true;
                if (i + 2 < d.size() && d[i + 1] == '\r' && d[i + 2] == '\n') ready = true;
            }
            if (ready) {
                auto r = http1::parse_request(in_.mutable_data(), in_.size(), limits, head_);
                if (r.status == http1::ParseStatus::kComplete) {
                    head_result_ = r;
                    return r.status;
                }
                if (r.status == http1::ParseStatus::kError) {
                    answer_and_close(r.error_status, r.error_reason);
                    return r.status;
                }
                if (in_.size() > s_.max_header_bytes) {
                    answer_and_close(431, "request head too large");
                    return http1::ParseStatus::kError;
                }
            }
            // The next scan starts where an empty line could still begin.
            scanned = d.size() >= 2 ? d.size() - 2 : 0;
            auto n = in_.fill(deadline);
            if (!n) {
                if (n.error().code == Errc::kUnavailable)
                    answer_and_close(408, "request head not received in time");
                return http1::ParseStatus::kError;
            }
            if (*n == 0) {
                if (in_.full()) {
                    answer_and_close(431, "request head too large");
                }
                return http1::ParseStatus::kError;
            }
        }
    }

    // Serves one request; false when the connection must end.
    bool serve_one(bool first) {
        if (read_head(first) != http1::ParseStatus::kComplete) return false;

        ServiceRequest req;
        req.method = std::string(head_.method_name);
        req.target = std::string(head_.target);
        req.path = std::string(head_.path);
        req.query = std::string(head_.query);
        req.host = std::string(head_.host);
        req.headers.reserve(head_.headers.size());
        int te_fields = 0;
        for (const auto& h : head_.headers) {
            req.headers.emplace_back(std::string(h.name), std::string(h.value));
            if (h.name == "transfer-encoding") ++te_fields;
        }
        req.secure = io_->secure();
        req.peer_ip = peer_.peer_ip;
        req.tls_version = io_->tls_version();
        req.tls_cipher = io_->tls_cipher();
        req.local_port = peer_.local_port;
        req.received = std::chrono::system_clock::now();
        const int version = head_.version;
        const bool is_head = head_.method == Method::kHead;
        in_.consume(head_result_.consumed);  // head_'s views are not used past this point

        // Body framing (RFC 9112 §6.3). The parser already refused CL together with TE,
        // conflicting CLs, and TE without chunked last.
        auto framing = BodyReader::Framing::kNone;
        std::uint64_t length = 0;
        if (te_fields > 0) {
            if (te_fields > 1 || !ieq(core::trim_ows(req.header("transfer-encoding")), "chunked")) {
                answer_and_close(501, "only chunked transfer coding is supported");
                return false;
            }
            framing = BodyReader::Framing::kChunked;
        } else if (auto cl = req.header("content-length"); !cl.empty()) {
            auto [p, ec] = std::from_chars(cl.data(), cl.data() + cl.size(), length);
            if (ec != std::errc() || p != cl.data() + cl.size() || length > (1ull << 62)) {
                answer_and_close(400, "invalid Content-Length");
                return false;
            }
            framing = BodyReader::Framing::kLength;
        }
        bool expect_continue = false;
        if (auto ex = req.header("expect"); !ex.empty()) {
            // RFC 9110 §10.1.1: 100-continue is the only expectation defined; 417 otherwise.
            if (!ieq(core::trim_ows(ex), "100-continue")) {
                answer_and_close(417, "unsupported expectation");
                return false;
            }
            expect_continue = version == 11 && framing != BodyReader::Framing::kNone;
        }
        const std::string_view conn = req.header("connection");
        const bool client_keep_alive =
            !has_token(conn, "close") && (version == 11 || has_token(conn, "keep-alive"));

        BodyReader body(in_, framing, length, expect_continue, s_.io_timeout);
        req.body = &body;
        auto keep_alive = [&] {
            if (!client_keep_alive || state_->is_stopping()) return false;
            if (body.finished()) return true;
            if (body.failed() || body.continue_pending()) return false;
            auto left = body.remaining();
            return !left || *left <= kDrainLimit;
        };
        ResponseWriter res(*io_, is_head, version, s_.io_timeout, keep_alive);
        try {
            state_->handler->handle(req, res);
        } catch (const std::exception& e) {
            log()->error("{} handler threw: {}", s_.name, e.what());
        } catch (...) {
            log()->error("{} handler threw", s_.name);
        }
        if (!res.started()) {
            // ServiceHandler contract: returning without a response is a server error.
            (void)res.send(500, {{"Content-Type", "text/plain"}}, "internal error\n");
        }
        bool reuse = res.keep_alive() && res.complete();
        if (reuse && !body.finished()) reuse = body.drain(kDrainLimit);
        if (!reuse) {
            linger_close(*io_);
            return false;
        }
        return true;
    }

    std::shared_ptr<ServerState> state_;
    const ServiceSettings& s_;
    std::unique_ptr<SocketIo> io_;
    PeerInfo peer_;
    InputBuffer in_;
    ConnSlot slot_;
    Request head_;
    http1::ParseResult head_result_;
};

}  // namespace

void serve_connection(std::shared_ptr<ServerState> state, std::unique_ptr<SocketIo> io,
                      PeerInfo peer) {
    Connection c(std::move(state), std::move(io), std::move(peer));
    c.run();
}

void reject_connection(std::shared_ptr<ServerState> state, std::unique_ptr<SocketIo> io) {
    const auto limit = std::min<std::chrono::milliseconds>(state->settings.handshake_timeout,
                                                           std::chrono::milliseconds(2000));
    if (!io->handshake(SteadyClock::now() + limit)) return;
    ResponseWriter res(*io, false, 11, limit, [] { return false; });
    (void)res.send(503, {{"Content-Type", "text/plain"}, {"Retry-After", "1"}},
                   "too many connections\n");
    linger_close(*io);
}

}  // namespace moat::edge::service_internal

#include "edge/http2/session.h"

#include <nghttp2/nghttp2.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <list>
#include <vector>

#include "core/assert.h"
#include "edge/date_cache.h"

namespace moat::edge::http2 {
namespace {

using Clock = std::chrono::steady_clock;

// We serve static files: request bodies are not expected. A little is tolerated (some clients
// send an empty or tiny body with GET) and discarded; beyond this the stream is reset.
constexpr std::size_t kMaxUploadPerStream = 64 * 1024;
// A client that keeps uploading after it was answered (at kMaxUploadPerStream) is reset here.
constexpr std::size_t kMaxUploadAfterAnswer = 4 * kMaxUploadPerStream;
// Our receive window for uploads (RFC 9113 §6.9.2); the default 65535 is plenty for the above.
constexpr std::uint32_t kInitialWindow = 65535;
// DATA frame header (RFC 9113 §4.1).
constexpr std::size_t kFrameHeader = 9;
// DATA payloads of at least this many bytes from memory go out as Output slices, not copied:
// below it the copy is cheaper than the TLS record of its own a slice's frame header makes.
constexpr std::size_t kSliceMin = 4096;
// Each DATA frame we send lets the client answer with a stream and a connection WINDOW_UPDATE;
// those are not a flood. Credit is capped so a burst of sends cannot bank unlimited updates.
constexpr std::uint32_t kWindowUpdateCreditPerData = 2;
constexpr std::uint32_t kMaxWindowUpdateCredit = 4096;

// Counts events in fixed one-second windows; cheaper than a token bucket and precise enough to
// tell a flood (thousands per second) from a busy browser (dozens).
class RateWindow {
public:
    explicit RateWindow(std::uint32_t limit) : limit_(limit) {}
    // Records one event; true when this second's count went over the limit.
    bool exceeded() {
        auto now = Clock::now();
        if (now - start_ >= std::chrono::seconds(1)) {
            start_ = now;
            count_ = 0;
        }
        return ++count_ > limit_;
    }

private:
    std::uint32_t limit_;
    std::uint32_t count_ = 0;
    Clock::time_point start_{};
};

std::string_view view(nghttp2_rcbuf* b) {
    auto v = nghttp2_rcbuf_get_buf(b);
    return {reinterpret_cast<const char*>(v.base), v.len};
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
    // The strings live in the Stream (its Response and buffers) until the stream closes, which
    // is after the HEADERS frame was encoded, so nghttp2 need not copy them.
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
            value.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

// RFC 9113 §8.2.2: connection-specific fields must not appear in HTTP/2; content-length is
// computed here from the body. A HeaderBlock shared with HTTP/1 may carry either.
bool skip_response_field(std::string_view name) {
    switch (name.size()) {
        case 7:
            return name == "upgrade";
        case 10:
            return name == "connection" || name == "keep-alive";
        case 14:
            return name == "content-length";
        case 16:
            return name == "proxy-connection";
        case 17:
            return name == "transfer-encoding";
        default:
            return false;
    }
}

// Host or :authority -> lower-case host without port ("[::1]:8443" -> "[::1]").
std::string_view normalise_host(std::string_view h, std::string& buf) {
    if (!h.empty() && h.front() == '[') {
        auto end = h.find(']');
        if (end != std::string_view::npos) h = h.substr(0, end + 1);
    } else if (auto colon = h.rfind(':'); colon != std::string_view::npos) {
        h = h.substr(0, colon);
    }
    if (std::none_of(h.begin(), h.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) return h;
    buf.assign(h);
    for (char& c : buf)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return buf;
}

}  // namespace

// Per-stream state. Request views point into rcbufs we hold a reference on, so header bytes
// are never copied; the Response stays here until the stream closes because nghttp2 encodes
// headers and reads the body lazily from it.
struct Stream {
    std::int32_t id = 0;
    std::list<Stream>::iterator self;
    std::vector<nghttp2_rcbuf*> refs;
    std::string_view method, authority, path, host_field;
    std::string host_buf;
    std::size_t header_bytes = 0;
    std::size_t upload_bytes = 0;
    bool too_large = false;  // header list over the limit: answered 431
    bool dispatched = false;
    Request req;
    Response res;
    // Body being sent: from memory or from a file, starting at `base`.
    const char* mem = nullptr;
    int fd = -1;
    std::uint64_t base = 0;
    std::uint64_t body_len = 0;  // bytes to send as DATA
    std::uint64_t queued = 0;    // handed to nghttp2 by the read callback
    std::uint64_t sent = 0;      // written to the output by the send callback
    std::uint64_t framing = 0;   // HEADERS frames and DATA frame headers sent (for sc-bytes)
    char status[4] = {};
    char date[40] = {};
    char clen[24] = {};

    void clear() {
        for (auto* r : refs) nghttp2_rcbuf_decref(r);
        refs.clear();
        method = authority = path = host_field = {};
        host_buf.clear();
        header_bytes = upload_bytes = 0;
        too_large = dispatched = false;
        auto headers = std::move(req.headers);
        headers.clear();
        req = Request{};
        req.headers = std::move(headers);  // keep the capacity for the next stream
        res = Response{};
        mem = nullptr;
        fd = -1;
        base = body_len = queued = sent = 0;
    }
};

class Session::Impl {
public:
    Impl(const EdgeSettings& settings, Handler& handler, Observer* observer, SessionInfo conn)
        : settings_(settings),
          handler_(handler),
          observer_(observer),
          sni_(conn.sni),
          conn_(conn),
          resets_(settings.h2_max_resets_per_second),
          control_(settings.h2_max_control_per_second) {
        conn_.sni = sni_;
    }

    ~Impl() {
        closing_ = true;
        for (auto& s : live_)
            if (s.dispatched && observer_)
                observer_->on_response_done(s.req, s.res, s.sent + s.framing, false);
        for (auto& s : live_) s.clear();
        if (h2_) nghttp2_session_del(h2_);
    }

    void init();
    Result<void> receive(const std::uint8_t* data, std::size_t len);
    std::size_t produce(Output& out, std::size_t max_bytes);
    bool want_read() const {
        return abort_frame_.empty() && !failed_ && !calm_ && nghttp2_session_want_read(h2_) != 0;
    }
    bool want_write() const {
        if (!abort_frame_.empty()) return !abort_sent_;
        return !send_failed_ && nghttp2_session_want_write(h2_) != 0;
    }
    void shutdown() {
        if (goaway_) return;
        goaway_ = true;
        nghttp2_submit_goaway(h2_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h2_),
                              NGHTTP2_NO_ERROR, nullptr, 0);
    }
    std::size_t open_streams() const { return live_.size(); }

private:
    static Impl* self(void* p) { return static_cast<Impl*>(p); }
    Stream* stream(std::int32_t id) {
        return static_cast<Stream*>(nghttp2_session_get_stream_user_data(h2_, id));
    }

    // Queues GOAWAY ENHANCE_YOUR_CALM (RFC 9113 §7) and makes receive() fail.
    void calm(const char* why) {
        if (calm_) return;
        calm_ = true;
        calm_reason_ = why;
        abort_with(NGHTTP2_ENHANCE_YOUR_CALM);
    }
    // Ends the connection with a GOAWAY we frame ourselves, sent before anything nghttp2 still
    // has queued: after a flood nghttp2 may refuse to send at all (NGHTTP2_ERR_FLOODED), its
    // queue can hold hundreds of ACKs we do not owe an abuser, and the peer must learn why we
    // leave (RFC 9113 §5.4.1: an endpoint SHOULD send GOAWAY before closing).
    void abort_with(std::uint32_t code) {
        if (!abort_frame_.empty()) return;
        const std::uint32_t last =
            static_cast<std::uint32_t>(nghttp2_session_get_last_proc_stream_id(h2_)) & 0x7fffffffu;
        const unsigned char f[17] = {0,
                                     0,
                                     8,
                                     NGHTTP2_GOAWAY,
                                     0,
                                     0,
                                     0,
                                     0,
                                     0,
                                     static_cast<unsigned char>(last >> 24),
                                     static_cast<unsigned char>(last >> 16),
                                     static_cast<unsigned char>(last >> 8),
                                     static_cast<unsigned char>(last),
                                     static_cast<unsigned char>(code >> 24),
                                     static_cast<unsigned char>(code >> 16),
                                     static_cast<unsigned char>(code >> 8),
                                     static_cast<unsigned char>(code)};
        abort_frame_.assign(reinterpret_cast<const char*>(f), sizeof f);
        // Also tell nghttp2, so it starts no new stream from the rest of the input.
        nghttp2_session_terminate_session(h2_, code);
    }
    void count_control() {
        if (control_.exceeded()) calm("control frame flood");
    }
    void count_reset() {
        if (resets_.exceeded()) calm("stream reset flood");
    }

    void dispatch(Stream& s);
    void build_request(Stream& s);
    void submit_response(Stream& s);

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p);
    static int on_header(nghttp2_session*, const nghttp2_frame* f, nghttp2_rcbuf* name,
                         nghttp2_rcbuf* value, std::uint8_t flags, void* p);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p);
    static int on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame* f, int err, void* p);
    static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t id,
                             const std::uint8_t*, std::size_t len, void* p);
    static int on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* p);
    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* p);
    static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t*, std::size_t len,
                             std::uint32_t* flags, nghttp2_data_source* src, void* p);
    static int send_body(nghttp2_session*, nghttp2_frame* f, const std::uint8_t* framehd,
                         std::size_t len, nghttp2_data_source* src, void* p);

    const EdgeSettings& settings_;
    Handler& handler_;
    Observer* observer_;
    std::string sni_;
    SessionInfo conn_;
    nghttp2_session* h2_ = nullptr;
    std::list<Stream> live_, free_;  // spliced between, so streams are allocated once
    // The stream whose header block is being decoded: on_header runs once per field, and
    // nghttp2's stream lookup is a hash-map probe each time.
    Stream* in_headers_ = nullptr;
    std::vector<nghttp2_nv> nva_;  // reused for every response
    RateWindow resets_, control_;
    std::uint32_t window_update_credit_ = 0;
    Output* out_ = nullptr;  // produce()'s output, for send_body
    std::size_t out_limit_ = 0;
    const char* calm_reason_ = "";
    bool calm_ = false, failed_ = false, send_failed_ = false, goaway_ = false;
    std::string abort_frame_;  // our own GOAWAY after abuse or a fatal error (abort_with)
    bool abort_sent_ = false;
    bool closing_ = false;
};

void Session::Impl::init() {
    nghttp2_session_callbacks* cb = nullptr;
    MOAT_CHECK(nghttp2_session_callbacks_new(&cb) == 0, "out of memory");
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback2(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_send_data_callback(cb, send_body);

    nghttp2_option* opt = nullptr;
    MOAT_CHECK(nghttp2_option_new(&opt) == 0, "out of memory");
    // Rapid reset (CVE-2023-44487): our own per-second count below trips first and answers
    // ENHANCE_YOUR_CALM; nghttp2's token bucket is a backstop at twice the rate.
    std::uint64_t resets = std::max<std::uint64_t>(settings_.h2_max_resets_per_second, 1);
    nghttp2_option_set_stream_reset_rate_limit(opt, 2 * resets, resets);
    // CONTINUATION flood (CVE-2024-28182): a header block may not go on forever.
    nghttp2_option_set_max_continuations(opt, settings_.h2_max_continuations);
    // PING/SETTINGS ACKs the peer makes us queue without reading them (CVE-2019-9512/9515).
    nghttp2_option_set_max_outbound_ack(
        opt, std::max<std::size_t>(2 * settings_.h2_max_control_per_second, 64));
    // RFC 9218 priorities only: no RFC 7540 dependency tree to keep closed streams for.
    nghttp2_option_set_no_closed_streams(opt, 1);

    int rv = nghttp2_session_server_new2(&h2_, cb, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    MOAT_CHECK(rv == 0, "out of memory");

    // RFC 9113 §3.4: the server preface is a SETTINGS frame.
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.h2_max_concurrent_streams},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, settings_.h2_header_table_size},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(std::min<std::size_t>(
                                                    settings_.h2_max_header_list, UINT32_MAX))},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kInitialWindow},
        // RFC 9218 §2.1: we do not use the RFC 7540 priority tree (CVE-2019-9513 loops).
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    rv = nghttp2_submit_settings(h2_, NGHTTP2_FLAG_NONE, iv, std::size(iv));
    MOAT_CHECK(rv == 0, "submit settings");
}

Result<void> Session::Impl::receive(const std::uint8_t* data, std::size_t len) {
    if (failed_) return make_error(Errc::kInvalidArgument, "http2: session already failed");
    if (calm_) return make_error(Errc::kDenied, std::string("http2: ") + calm_reason_);
    auto n = nghttp2_session_mem_recv(h2_, data, len);
    if (n < 0) {
        failed_ = true;
        // Fatal library errors queue no GOAWAY of their own; tell the peer why we leave.
        std::uint32_t code = (n == NGHTTP2_ERR_FLOODED || n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
                                 ? NGHTTP2_ENHANCE_YOUR_CALM
                                 : NGHTTP2_PROTOCOL_ERROR;
        abort_with(code);
        Errc errc = code == NGHTTP2_ENHANCE_YOUR_CALM ? Errc::kDenied : Errc::kInvalidArgument;
        return make_error(errc, std::string("http2: ") + nghttp2_strerror(static_cast<int>(n)));
    }
    if (calm_) return make_error(Errc::kDenied, std::string("http2: ") + calm_reason_);
    return {};
}

std::size_t Session::Impl::produce(Output& out, std::size_t max_bytes) {
    if (!abort_frame_.empty()) {
        if (abort_sent_) return 0;
        abort_sent_ = true;
        out.bytes.append(abort_frame_);
        return abort_frame_.size();
    }
    if (send_failed_) return 0;
    std::size_t start = out.size();
    out_ = &out;
    out_limit_ = start + max_bytes;
    while (out.size() < out_limit_) {
        const std::uint8_t* p = nullptr;
        auto n = nghttp2_session_mem_send(h2_, &p);
        if (n < 0) {  // only out of memory or a callback failure: nothing sane left to send
            send_failed_ = true;
            break;
        }
        // 0: nothing to send, or send_body paused because the budget is used up.
        if (n == 0) break;
        out.bytes.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
    out_ = nullptr;
    return out.size() - start;
}

int Session::Impl::on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* p) {
    auto* me = self(p);
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    if (me->free_.empty()) me->free_.emplace_back();
    me->live_.splice(me->live_.end(), me->free_, me->free_.begin());
    Stream& s = me->live_.back();
    s.self = std::prev(me->live_.end());
    s.id = f->hd.stream_id;
    nghttp2_session_set_stream_user_data(me->h2_, s.id, &s);
    me->in_headers_ = &s;
    return 0;
}

int Session::Impl::on_header(nghttp2_session*, const nghttp2_frame* f, nghttp2_rcbuf* name,
                             nghttp2_rcbuf* value, std::uint8_t, void* p) {
    auto* me = self(p);
    Stream* s = me->in_headers_ && me->in_headers_->id == f->hd.stream_id
                    ? me->in_headers_
                    : me->stream(f->hd.stream_id);
    // Trailers (after the request head) are ignored: static files take no request content.
    if (!s || s->dispatched || f->headers.cat != NGHTTP2_HCAT_REQUEST || s->too_large) return 0;
    auto n = view(name);
    auto v = view(value);
    // RFC 9113 §6.5.2: the list size counts each field as name + value + 32. Past the limit we
    // stop storing (HPACK must still be decoded to keep the table in sync) and answer 431.
    s->header_bytes += n.size() + v.size() + 32;
    if (s->header_bytes > me->settings_.h2_max_header_list ||
        s->req.headers.size() >= me->settings_.max_headers) {
        s->too_large = true;
        return 0;
    }
    nghttp2_rcbuf_incref(name);
    nghttp2_rcbuf_incref(value);
    s->refs.push_back(name);
    s->refs.push_back(value);
    // nghttp2 has validated the pseudo-headers (RFC 9113 §8.3.1): known, once, before others.
    if (n.front() == ':') {
        if (n == ":method")
            s->method = v;
        else if (n == ":path")
            s->path = v;
        else if (n == ":authority")
            s->authority = v;
        return 0;
    }
    if (n == "host") s->host_field = v;
    s->req.headers.push_back({n, v});
    return 0;
}

int Session::Impl::on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* p) {
    auto* me = self(p);
    switch (f->hd.type) {
        case NGHTTP2_DATA:
            if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
                if (Stream* s = me->stream(f->hd.stream_id)) me->dispatch(*s);
            } else if (f->hd.length == 0) {
                me->count_control();  // empty DATA frames cost us work, carry nothing
            }
            break;
        case NGHTTP2_HEADERS:
            if (Stream* s = me->stream(f->hd.stream_id)) {
                // A request too large is answered at once; the rest of its body is discarded.
                if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) || s->too_large) me->dispatch(*s);
            }
            break;
        case NGHTTP2_PRIORITY:
            me->count_control();
            break;
        case NGHTTP2_SETTINGS:
        case NGHTTP2_PING:
            if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) me->count_control();
            break;
        case NGHTTP2_WINDOW_UPDATE:
            if (me->window_update_credit_ > 0)
                --me->window_update_credit_;
            else
                me->count_control();
            break;
        case NGHTTP2_RST_STREAM:
            me->count_reset();
            break;
        default:
            break;
    }
    return 0;
}

int Session::Impl::on_invalid_frame_recv(nghttp2_session*, const nghttp2_frame* f, int, void* p) {
    // A stream error the peer caused makes us reset the stream: as costly as a peer reset
    // ("MadeYouReset"), so it counts against the same limit. Refused streams count too.
    if (f->hd.stream_id != 0) self(p)->count_reset();
    return 0;
}

int Session::Impl::on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id,
                                 const std::uint8_t*, std::size_t len, void* p) {
    auto* me = self(p);
    Stream* s = me->stream(id);
    if (!s) return 0;
    // Discarded; nghttp2 returns the flow-control credit by itself.
    const std::size_t before = s->upload_bytes;
    s->upload_bytes += len;
    auto crossed = [&](std::size_t limit) { return before <= limit && s->upload_bytes > limit; };
    if (crossed(kMaxUploadPerStream) && !s->dispatched) {
        // Answer now (a 405 for POST/PUT, as HTTP/1.1 does) rather than with a bare reset:
        // RFC 9113 §8.1 lets a server respond before the request is complete, and clients stop
        // uploading when they see it. (RST_STREAM NO_ERROR right after the response would say so
        // too, but curl before 8.x reports it as a failed transfer.)
        me->dispatch(*s);
    } else if (crossed(kMaxUploadPerStream) || crossed(kMaxUploadAfterAnswer)) {
        nghttp2_submit_rst_stream(me->h2_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        me->count_reset();
    }
    return 0;
}

int Session::Impl::on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* p) {
    auto* me = self(p);
    if (Stream* s = me->stream(f->hd.stream_id)) {
        if (f->hd.type == NGHTTP2_HEADERS) s->framing += kFrameHeader + f->hd.length;
        if (f->hd.type == NGHTTP2_DATA) s->framing += kFrameHeader;
    }
    if (f->hd.type == NGHTTP2_DATA)
        me->window_update_credit_ = std::min(me->window_update_credit_ + kWindowUpdateCreditPerData,
                                             kMaxWindowUpdateCredit);
    return 0;
}

int Session::Impl::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* p) {
    auto* me = self(p);
    if (me->closing_) return 0;
    Stream* s = me->stream(id);
    if (!s) return 0;
    if (me->in_headers_ == s) me->in_headers_ = nullptr;
    nghttp2_session_set_stream_user_data(me->h2_, id, nullptr);
    if (s->dispatched && me->observer_) {
        bool completed = code == NGHTTP2_NO_ERROR && s->sent == s->body_len;
        me->observer_->on_response_done(s->req, s->res, s->sent + s->framing, completed);
    }
    s->clear();
    me->free_.splice(me->free_.end(), me->live_, s->self);
    return 0;
}

void Session::Impl::build_request(Stream& s) {
    Request& r = s.req;
    r.method_name = s.method;
    r.method = s.method == "GET"    ? Method::kGet
               : s.method == "HEAD" ? Method::kHead
                                    : Method::kOther;
    r.target = s.path;
    auto q = s.path.find('?');
    r.path = s.path.substr(0, q);
    r.query = q == std::string_view::npos ? std::string_view{} : s.path.substr(q + 1);
    // RFC 9113 §8.3.1: :authority, else Host, names the origin.
    r.host = normalise_host(s.authority.empty() ? s.host_field : s.authority, s.host_buf);
    r.version = 20;
    r.secure = conn_.secure;
    r.local_port = conn_.local_port;
    r.sni = conn_.sni;
    r.worker = conn_.worker;
}

void Session::Impl::dispatch(Stream& s) {
    if (s.dispatched) return;
    s.dispatched = true;
    build_request(s);
    if (s.too_large) {
        // RFC 6585 §5 / RFC 9113 §10.5.1.
        s.res.status = 431;
        s.res.result = ResultType::kError;
    } else {
        handler_.handle(s.req, s.res);
    }
    submit_response(s);
    if (s.res.close) shutdown();
}

void Session::Impl::submit_response(Stream& s) {
    Response& res = s.res;
    int status = res.status;
    if (status < 200 || status > 999) status = 500;  // no interim responses from handlers
    std::to_chars(s.status, s.status + 3, status);
    auto date = http_date_now();
    std::size_t dlen = std::min(date.size(), sizeof s.date);
    std::memcpy(s.date, date.data(), dlen);

    // Body source, clamped to what exists (a handler bug must not read out of bounds).
    const Body& b = res.body;
    std::uint64_t len = b.length;
    if (b.bytes) {
        std::uint64_t size = b.bytes->size();
        std::uint64_t off = std::min<std::uint64_t>(b.offset, size);
        len = std::min(len, size - off);
        s.mem = b.bytes->data() + off;
    } else if (b.file) {
        s.fd = b.file->fd;
        s.base = b.offset;
    } else {
        len = 0;
    }

    nva_.clear();
    nva_.push_back(make_nv(":status", {s.status, 3}));
    nva_.push_back(make_nv("date", {s.date, dlen}));
    if (res.fixed)
        for (const auto& [n, v] : res.fixed->fields)
            if (!skip_response_field(n)) nva_.push_back(make_nv(n, v));
    for (const auto& [n, v] : res.extra)
        if (!skip_response_field(n)) nva_.push_back(make_nv(n, v));
    if (!res.no_body) {
        auto [end, ec] = std::to_chars(s.clen, s.clen + sizeof s.clen, len);
        nva_.push_back(make_nv("content-length", {s.clen, static_cast<std::size_t>(end - s.clen)}));
    }

    // HEAD (RFC 9110 §9.3.2) and no_body: headers only, END_STREAM on HEADERS.
    bool send_body = !res.no_body && s.req.method != Method::kHead && len > 0;
    s.body_len = send_body ? len : 0;
    nghttp2_data_provider dp{};
    dp.source.ptr = &s;
    dp.read_callback = read_body;
    int rv =
        nghttp2_submit_response(h2_, s.id, nva_.data(), nva_.size(), send_body ? &dp : nullptr);
    if (rv != 0) nghttp2_submit_rst_stream(h2_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
}

ssize_t Session::Impl::read_body(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t len,
                                 std::uint32_t* flags, nghttp2_data_source* src, void*) {
    auto* s = static_cast<Stream*>(src->ptr);
    // NO_COPY: send_body writes the frame straight into the output, so file data is copied
    // once (page cache -> output buffer) and memory bodies once (cache -> output buffer).
    std::uint64_t n = std::min<std::uint64_t>(len, s->body_len - s->queued);
    s->queued += n;
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (s->queued == s->body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
}

int Session::Impl::send_body(nghttp2_session*, nghttp2_frame* f, const std::uint8_t* framehd,
                             std::size_t len, nghttp2_data_source* src, void* p) {
    auto* me = self(p);
    auto* s = static_cast<Stream*>(src->ptr);
    MOAT_ASSERT(me->out_ && f->data.padlen == 0);
    Output& o = *me->out_;
    std::string& out = o.bytes;
    std::size_t at = out.size();
    if (s->mem) {
        // append, not resize + memcpy: resize would zero 16 KiB per frame first.
        out.append(reinterpret_cast<const char*>(framehd), kFrameHeader);
        if (len >= kSliceMin && s->res.body.bytes) {
            o.slices.push_back({out.size(), s->mem + s->sent, len, s->res.body.bytes});
            o.sliced += len;
        } else {
            out.append(s->mem + s->sent, len);
        }
    } else {
        out.resize(at + kFrameHeader + len);
        char* dst = out.data() + at;
        std::memcpy(dst, framehd, kFrameHeader);
        dst += kFrameHeader;
        std::size_t done = 0;
        while (done < len) {
            auto r = ::pread(s->fd, dst + done, len - done,
                             static_cast<off_t>(s->base + s->sent + done));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                // I/O error or the file shrank: the frame header promised len bytes, so the
                // stream is reset (nghttp2 sends RST_STREAM INTERNAL_ERROR).
                out.resize(at);
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
            }
            done += static_cast<std::size_t>(r);
        }
    }
    s->sent += len;
    // Budget used up: make mem_send return so produce() hands the bytes to the socket.
    return o.size() >= me->out_limit_ ? NGHTTP2_ERR_PAUSE : 0;
}

// Session: thin forwarding to Impl, which keeps nghttp2 out of the header.

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

std::unique_ptr<Session> Session::create(const EdgeSettings& settings, Handler& handler,
                                         Observer* observer, SessionInfo conn) {
    auto impl = std::make_unique<Impl>(settings, handler, observer, conn);
    impl->init();
    return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Result<void> Session::receive(const std::uint8_t* data, std::size_t len) {
    return impl_->receive(data, len);
}
std::size_t Session::produce(Output& out, std::size_t max_bytes) {
    return impl_->produce(out, max_bytes);
}

std::size_t Session::produce(std::string& out, std::size_t max_bytes) {
    Output o;
    std::size_t n = impl_->produce(o, max_bytes);
    out += o.flat();
    return n;
}

void Output::pieces(std::vector<std::string_view>& out) const {
    std::size_t pos = 0;
    for (const Slice& s : slices) {
        if (s.at > pos) out.emplace_back(bytes.data() + pos, s.at - pos);
        out.emplace_back(s.data, s.len);
        pos = s.at;
    }
    if (pos < bytes.size()) out.emplace_back(bytes.data() + pos, bytes.size() - pos);
}

std::string Output::flat() const {
    std::vector<std::string_view> v;
    pieces(v);
    std::string s;
    s.reserve(size());
    for (auto p : v) s.append(p);
    return s;
}
bool Session::want_read() const { return impl_->want_read(); }
bool Session::want_write() const { return impl_->want_write(); }
void Session::shutdown() { impl_->shutdown(); }
std::size_t Session::open_streams() const { return impl_->open_streams(); }

}  // namespace moat::edge::http2

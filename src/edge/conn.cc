#include "edge/conn.h"

namespace moat::edge {

using Clock = std::chrono::steady_clock;

struct Deadline::State {
    asio::steady_timer timer;
    asio::ip::tcp::socket* sock;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point armed_at = Clock::time_point::max();  // when the timer will fire
    bool expired = false;
    bool alive = true;
    explicit State(asio::ip::tcp::socket& s) : timer(s.get_executor()), sock(&s) {}
};

namespace {

void arm(const std::shared_ptr<Deadline::State>& st);

}  // namespace

Deadline::Deadline(asio::ip::tcp::socket& sock) : st_(std::make_shared<State>(sock)) {}

Deadline::~Deadline() {
    st_->alive = false;
    st_->timer.cancel();
}

namespace {

void arm(const std::shared_ptr<Deadline::State>& st) {
    st->armed_at = st->deadline;
    st->timer.expires_at(st->deadline);
    st->timer.async_wait([st](const asio::error_code& ec) {
        if (!st->alive) return;
        if (ec == asio::error::operation_aborted && st->armed_at != Clock::time_point::max())
            return;  // re-armed earlier by set()
        st->armed_at = Clock::time_point::max();
        if (st->deadline == Clock::time_point::max()) return;
        if (Clock::now() >= st->deadline) {
            st->expired = true;
            asio::error_code ignore;
            st->sock->cancel(ignore);
            return;
        }
        arm(st);  // the deadline moved later while we slept
    });
}

}  // namespace

void Deadline::set(std::chrono::milliseconds d) {
    st_->deadline = Clock::now() + d;
    st_->expired = false;
    // Only an earlier deadline needs the timer moved; a later one is picked up when it fires.
    if (st_->armed_at == Clock::time_point::max()) {
        arm(st_);
    } else if (st_->deadline < st_->armed_at) {
        st_->armed_at = Clock::time_point::max();
        st_->timer.cancel();  // the handler sees aborted with armed_at reset: no-op
        arm(st_);
    }
}

void Deadline::clear() { st_->deadline = Clock::time_point::max(); }

bool Deadline::expired() const { return st_->expired; }

}  // namespace moat::edge

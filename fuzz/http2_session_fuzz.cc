// libFuzzer target for the HTTP/2 server session (edge/http2/session.cc over nghttp2): the
// input is what a client sends after a valid connection preface, fed to Session::receive in
// pieces the input itself sizes, with produce() run between pieces on budgets the input picks.
// The handler answers from memory (small and large bodies), from a file and with 404, so the
// request, response and flow-control paths of our callbacks are all reached.
// Besides memory errors it checks produce()'s contract and aborts when it breaks: it never
// yields much more than its budget (one DATA frame and a HEADERS block more), its body slices
// are in order inside the output and point into the very body they hold, and once receive()
// has failed the session still ends (want_read() turns false once its output is drained).

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "edge/http2/session.h"
#include "fuzz_check.h"

namespace {

using namespace moat::edge;

std::shared_ptr<const std::string> bytes_of(std::size_t n, char c) {
    return std::make_shared<const std::string>(n, c);
}

class Answers : public Handler {
public:
    Answers() {
        small_ = bytes_of(100, 's');
        big_ = bytes_of(200 * 1024, 'b');
        block_ = std::make_shared<HeaderBlock>();
        block_->add("content-type", "text/plain; charset=utf-8");
        block_->add("strict-transport-security", "max-age=63072000");
        int fd = ::memfd_create("http2_session_fuzz", 0);
        if (fd >= 0) {
            std::string f(50 * 1024, 'f');
            if (::write(fd, f.data(), f.size()) == static_cast<ssize_t>(f.size()))
                file_ = std::make_shared<const OpenFile>(fd);
            else
                ::close(fd);
        }
    }
    void handle(const Request& req, Response& res) override {
        res.fixed = block_;
        if (req.path == "/") {
            res.body.bytes = small_;
            res.body.length = small_->size();
        } else if (req.path == "/big") {
            res.body.bytes = big_;
            res.body.offset = 7;  // a slice that does not start at the body's start
            res.body.length = big_->size() - 7;
        } else if (req.path == "/file" && file_) {
            res.body.file = file_;
            res.body.offset = 100;
            res.body.length = 40 * 1024;
        } else if (req.path == "/short" && file_) {
            res.body.file = file_;  // promises more than the file holds: the stream is reset
            res.body.length = 60 * 1024;
        } else {
            res.status = 404;
        }
    }

private:
    std::shared_ptr<const std::string> small_, big_;
    std::shared_ptr<HeaderBlock> block_;
    std::shared_ptr<const OpenFile> file_;
};

void check_output(const http2::Output& o, std::size_t before, std::size_t budget) {
    FUZZ_CHECK(o.size() >= before);
    FUZZ_CHECK(o.size() - before <= budget + 16384 + 9 + 16384);
    std::size_t last = 0, sum = 0;
    for (const auto& s : o.slices) {
        FUZZ_CHECK(s.at >= last && s.at <= o.bytes.size());
        FUZZ_CHECK(s.hold && s.len > 0);
        FUZZ_CHECK(s.data >= s.hold->data() && s.data + s.len <= s.hold->data() + s.hold->size());
        last = s.at;
        sum += s.len;
    }
    FUZZ_CHECK(sum == o.sliced);
    FUZZ_CHECK(o.flat().size() == o.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Answers answers;
    EdgeSettings settings;
    settings.h2_max_concurrent_streams = 16;
    auto session = http2::Session::create(settings, answers, nullptr, http2::SessionInfo{});
    // RFC 9113 §3.4: the client preface, then an empty SETTINGS frame.
    static const std::string preface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                                       std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
    bool failed =
        !session->receive(reinterpret_cast<const std::uint8_t*>(preface.data()), preface.size());
    FUZZ_CHECK(!failed);
    std::size_t at = 0;
    int rounds = 0;
    while (at < size && !failed && rounds++ < 10000) {
        // One control byte: the piece size (low 5 bits: 1..249 bytes) and the produce budget
        // (high 3 bits: 1 KiB..128 KiB).
        std::uint8_t ctl = data[at++];
        std::size_t piece = std::min<std::size_t>(size - at, (ctl & 0x1f) * 8u + 1);
        std::size_t budget = std::size_t(1024) << (ctl >> 5);
        failed = !session->receive(data + at, piece);
        at += piece;
        http2::Output out;
        std::size_t before = 0;
        while (session->produce(out, budget) > 0) {
            check_output(out, before, budget);
            before = out.size();
            if (out.size() > (4u << 20)) break;  // a peer that never reads: bounded by windows
        }
    }
    if (failed) {
        // The session queued GOAWAY (or gave up); draining it must end the session.
        http2::Output out;
        for (int i = 0; i < 1000 && session->produce(out, 65536) > 0; ++i) {
        }
        FUZZ_CHECK(!session->want_read());
    }
    return 0;
}

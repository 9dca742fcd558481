// libFuzzer target for the HTTP/1.1 request parser. Besides memory errors (the input is copied
// into a buffer of exactly its size, so ASan sees any read past len) it checks the parser's
// contract and aborts when it breaks: results stay inside the buffer, a complete head is well
// formed, re-parsing the (lower-cased in place) buffer gives the same answer, and a prefix never
// answers differently from the whole input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "edge/http1/parser.h"
#include "fuzz_check.h"

namespace {

using moat::edge::Request;
using moat::edge::http1::Limits;
using moat::edge::http1::parse_request;
using moat::edge::http1::ParseResult;
using moat::edge::http1::ParseStatus;

bool same(const ParseResult& a, const ParseResult& b) {
    return a.status == b.status && a.consumed == b.consumed && a.error_status == b.error_status &&
           (a.status != ParseStatus::kComplete ||
            (a.keep_alive == b.keep_alive && a.has_body == b.has_body));
}

void check_result(const char* data, std::size_t len, const ParseResult& r, const Request& req) {
    FUZZ_CHECK(r.consumed <= len);
    FUZZ_CHECK(r.error_reason != nullptr);
    switch (r.status) {
        case ParseStatus::kIncomplete:
            FUZZ_CHECK(r.error_status == 0);
            return;
        case ParseStatus::kError:
            FUZZ_CHECK(r.error_status == 400 || r.error_status == 414 || r.error_status == 431 ||
                       r.error_status == 501 || r.error_status == 505);
            FUZZ_CHECK(r.error_reason[0] != '\0');
            FUZZ_CHECK(!r.keep_alive);
            return;
        case ParseStatus::kComplete:
            break;
    }
    FUZZ_CHECK(r.error_status == 0);
    FUZZ_CHECK(r.consumed >= 4);
    FUZZ_CHECK(std::string_view(data + r.consumed - 4, 4) == "\r\n\r\n");
    FUZZ_CHECK(!(r.has_body && r.keep_alive));
    FUZZ_CHECK(req.version == 10 || req.version == 11);
    FUZZ_CHECK(req.version == 10 || !req.host.empty());
    auto inside = [&](std::string_view v) {
        return v.empty() || (v.data() >= data && v.data() + v.size() <= data + r.consumed);
    };
    FUZZ_CHECK(inside(req.method_name) && !req.method_name.empty());
    FUZZ_CHECK(inside(req.target) && !req.target.empty());
    FUZZ_CHECK(inside(req.path) && !req.path.empty() && req.path[0] == '/');
    FUZZ_CHECK(inside(req.query));
    FUZZ_CHECK(inside(req.host));
    for (unsigned char c : req.target) FUZZ_CHECK(c > 0x20 && c < 0x7f);
    for (char c : req.host) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    for (const auto& h : req.headers) {
        FUZZ_CHECK(inside(h.name) && !h.name.empty());
        FUZZ_CHECK(inside(h.value));
        for (char c : h.name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z') && c != ':' && c > 0x20);
        for (char c : h.value) FUZZ_CHECK(c != '\r' && c != '\n' && c != '\0');
        if (!h.value.empty()) {
            FUZZ_CHECK(h.value.front() != ' ' && h.value.front() != '\t');
            FUZZ_CHECK(h.value.back() != ' ' && h.value.back() != '\t');
        }
    }
}

void run(const std::uint8_t* input, std::size_t size, const Limits& limits) {
    // Exactly `size` bytes on the heap so that ASan flags any read past the end.
    std::unique_ptr<char[]> buf(new char[size]);
    if (size > 0) std::memcpy(buf.get(), input, size);
    Request req;
    const ParseResult whole = parse_request(buf.get(), size, limits, req);
    check_result(buf.get(), size, whole, req);

    // Stateless and idempotent: the buffer was modified in place; parsing it again must agree.
    Request again;
    const ParseResult second = parse_request(buf.get(), size, limits, again);
    FUZZ_CHECK(same(whole, second));

    // A prefix is either incomplete or gives the same answer as the whole input. A few prefixes
    // only, to keep each run linear in the input size.
    const std::size_t cuts[] = {size / 2, size > 0 ? size - 1 : 0, whole.consumed,
                                whole.consumed > 0 ? whole.consumed - 1 : 0};
    for (std::size_t cut : cuts) {
        if (cut > size) continue;
        std::unique_ptr<char[]> part(new char[cut]);
        if (cut > 0) std::memcpy(part.get(), input, cut);
        Request preq;
        const ParseResult p = parse_request(part.get(), cut, limits, preq);
        check_result(part.get(), cut, p, preq);
        FUZZ_CHECK(p.status == ParseStatus::kIncomplete || same(p, whole));
        if (whole.status == ParseStatus::kComplete && cut < whole.consumed)
            FUZZ_CHECK(p.status == ParseStatus::kIncomplete);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run(data, size, Limits{});
    // Small limits reach the 414 and 431 paths with short inputs.
    Limits small;
    small.max_header_bytes = 200;
    small.max_target_bytes = 40;
    small.max_headers = 4;
    run(data, size, small);
    return 0;
}

// libFuzzer target for the aws-chunked body decoder and RequestBody's checks. The first input
// byte picks the payload mode and how the body is cut into reads; the rest is the encoded body.
// Besides memory errors it aborts when the decoder breaks its contract: more decoded bytes
// than encoded ones, a success whose decoded size differs from x-amz-decoded-content-length,
// an error that does not repeat, or a different answer for a different cut of the same bytes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "s3/auth.h"
#include "s3/sigv4.h"

namespace {

using namespace moat;

class CutBody : public edge::ServiceBody {
public:
    CutBody(const std::uint8_t* d, std::size_t n, std::size_t step) : d_(d), n_(n), step_(step) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        std::size_t k = std::min({n, step_, n_ - pos_});
        std::memcpy(buf, d_ + pos_, k);
        pos_ += k;
        return k;
    }
    std::optional<std::uint64_t> length() const override { return n_; }

private:
    const std::uint8_t* d_;
    std::size_t n_, pos_ = 0, step_;
};

struct Outcome {
    bool ok = false;
    int reason = 0;
    std::string data;
};

Outcome run(const std::uint8_t* d, std::size_t n, s3::PayloadMode mode, std::size_t step,
            std::size_t read_size) {
    edge::ServiceRequest req;
    req.method = "PUT";
    req.headers = {{"x-amz-trailer", "x-amz-checksum-crc32"},
                   {"x-amz-decoded-content-length", "5"}};
    if (mode == s3::PayloadMode::kStreamingSigned) req.headers.erase(req.headers.begin());
    s3::AuthResult auth;
    auth.payload = mode;
    auth.seed_signature = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    auth.signing_key = s3::sigv4::signing_key("secret", "20130524", "us-east-1", "s3");
    auth.scope = "20130524/us-east-1/s3/aws4_request";
    auth.amz_date = "20130524T000000Z";
    CutBody body(d, n, step);
    auto rb = s3::make_request_body(body, req, auth);
    Outcome o;
    std::string buf(read_size, '\0');
    for (;;) {
        auto got = rb->read(buf.data(), buf.size());
        if (!got) {
            auto again = rb->read(buf.data(), buf.size());
            if (again || again.error().reason != got.error().reason)
                fuzz_broken(__FILE__, "error not sticky");
            o.reason = got.error().reason;
            return o;
        }
        if (*got > buf.size()) fuzz_broken(__FILE__, "read more than asked");
        if (*got == 0) break;
        o.data.append(buf.data(), *got);
        if (o.data.size() > n) fuzz_broken(__FILE__, "more decoded bytes than encoded ones");
    }
    if (o.data.size() != 5) fuzz_broken(__FILE__, "success with the wrong decoded length");
    o.ok = true;
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t ctl = data[0];
    const s3::PayloadMode modes[] = {s3::PayloadMode::kStreamingSigned,
                                     s3::PayloadMode::kStreamingSignedTrailer,
                                     s3::PayloadMode::kStreamingUnsignedTrailer};
    const auto mode = modes[(ctl & 3) % 3];
    const std::size_t step = 1 + (ctl >> 2);
    Outcome a = run(data + 1, size - 1, mode, step, 1 + (ctl & 15));
    Outcome b = run(data + 1, size - 1, mode, SIZE_MAX, 65536);
    if (a.ok != b.ok || a.reason != b.reason || (a.ok && a.data != b.data))
        fuzz_broken(__FILE__, "the answer depends on how the body was cut");
    return 0;
}

// libFuzzer target for what the S3 API does with a request before anyone is known: SigV4
// authentication (Authorization header or presigned query, s3/auth.cc, s3/sigv4.cc) and
// routing (s3/route.cc). The input is a request as text: the method, the request-target and
// header lines, separated by '\n'.
// Besides memory errors it checks, and aborts when one breaks:
// - no forged request authenticates: the one key it knows is never the answer (a fuzzer
//   cannot compute an HMAC, so a success means a check was skipped);
// - a request is anonymous only when it carries no Authorization header;
// - a route's bucket is one path segment of at most 63 bytes, and a key (at most 1024 bytes)
//   comes only with a bucket.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/text.h"
#include "fuzz_check.h"
#include "s3/auth.h"
#include "s3/route.h"

namespace {

using namespace moat;

std::string_view next_line(std::string_view& in) {
    auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    edge::ServiceRequest req;
    req.method = std::string(next_line(in));
    req.target = std::string(next_line(in));
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
    while (!in.empty()) {
        std::string_view line = next_line(in);
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string name = core::ascii_lower(line.substr(0, colon));
        std::string value(core::trim_ows(line.substr(colon + 1)));
        if (name == "host") req.host = core::ascii_lower(value.substr(0, value.find(':')));
        req.headers.emplace_back(std::move(name), std::move(value));
    }
    req.secure = true;

    // 2013-05-24T00:00:00Z, the date of AWS's own SigV4 examples, so their seeds are in time.
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1369353600));
    auto find = [](std::string_view id) -> Result<store::KeyRecord> {
        if (id != "AKIAIOSFODNN7EXAMPLE") return make_error(Errc::kNotFound, "no such key");
        store::KeyRecord k;
        k.access_key_id = std::string(id);
        k.secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        return k;
    };
    auto auth = s3::authenticate(req, find, now);
    if (auth) {
        FUZZ_CHECK(auth->anonymous);
        FUZZ_CHECK(req.header("authorization").empty());
    }

    s3::RouteInput ri{req.method, req.host, req.path, req.query,
                      !req.header("x-amz-copy-source").empty()};
    auto route = s3::resolve_route(ri, {"s3.example.com", "localhost"});
    if (route) {
        // The router leaves naming rules to the store (an unknown name is NoSuchBucket), but a
        // bucket segment never spans a '/' or exceeds S3's 63 bytes.
        FUZZ_CHECK(route->bucket.size() <= 63);
        FUZZ_CHECK(route->bucket.find('/') == std::string::npos);
        FUZZ_CHECK(route->key.size() <= 1024);
        FUZZ_CHECK(route->key.empty() || !route->bucket.empty());
    }
    return 0;
}

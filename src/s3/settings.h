#pragma once
// Settings of the s3 part: a plain struct filled by config/ (STYLE.md §2), no logic.

#include <chrono>
#include <string>
#include <vector>

namespace moat::s3 {

struct S3Settings {
    bool enabled = false;
    // Loopback by default: exposing the S3 API is a decision the operator writes down.
    std::vector<std::string> listen{"127.0.0.1:9000"};
    // Endpoint names: "<bucket>.<host>" selects virtual-host-style addressing; the listener's
    // certificate covers each host and "*.<host>".
    std::vector<std::string> hosts{"localhost"};
    int max_connections = 128;
    std::string region = "us-east-1";  // the SigV4 scope region clients must sign for
    // How often buffered server access log lines are written as an object into `logs`
    // (AWS delivers within hours; a short interval makes more, smaller objects).
    std::chrono::milliseconds access_log_flush{std::chrono::minutes(5)};
};

}  // namespace moat::s3

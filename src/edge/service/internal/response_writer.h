#pragma once
// ServiceResponse over one connection: writes the status line and headers, adds Date,
// Content-Length and Connection, and counts body bytes so a short or long body is caught.
// One per request, used by the connection thread only.

#include <chrono>
#include <cstdint>
#include <functional>

#include "edge/service.h"
#include "edge/service/internal/socket_io.h"

namespace moat::edge::service_internal {

class ResponseWriter : public ServiceResponse {
public:
    // keep_alive: asked when the head is written whether the connection may serve another
    // request; the answer is announced (Connection: close) and remembered. `io` outlives this.
    ResponseWriter(SocketIo& io, bool head_request, int http_version,
                   std::chrono::milliseconds io_timeout, std::function<bool()> keep_alive);

    Result<void> start(int status, const ServiceHeaders& headers,
                       std::uint64_t content_length) override;
    Result<void> write(std::string_view bytes) override;
    bool started() const override { return started_; }

    // The whole announced body went out (always true for HEAD, 204 and 304).
    bool complete() const { return started_ && !broken_ && written_ == to_write_; }
    bool keep_alive() const { return keep_alive_; }
    int status() const { return status_; }

private:
    SocketIo& io_;
    bool head_request_;
    int http_version_;
    std::chrono::milliseconds io_timeout_;
    std::function<bool()> keep_alive_fn_;
    bool started_ = false;
    bool broken_ = false;
    bool keep_alive_ = false;
    int status_ = 0;
    std::uint64_t to_write_ = 0;
    std::uint64_t written_ = 0;
};

}  // namespace moat::edge::service_internal

#pragma once
// The bytes a connection has received but not yet consumed: the request head, pipelined
// requests and body bytes that arrived with the head. Shared by the head reader and the body
// reader of one connection thread.

#include <cstddef>
#include <string_view>
#include <vector>

#include "edge/service/internal/socket_io.h"

namespace moat::edge::service_internal {

class InputBuffer {
public:
    // `io` must outlive this object. capacity: the most bytes ever held (head limit + 1).
    InputBuffer(SocketIo& io, std::size_t capacity) : io_(io), buf_(capacity) {}

    std::string_view data() const { return {buf_.data() + pos_, end_ - pos_}; }
    char* mutable_data() { return buf_.data() + pos_; }
    std::size_t size() const { return end_ - pos_; }
    bool full() const { return size() == buf_.size(); }
    void consume(std::size_t n) { pos_ += n; }

    // Reads more bytes after the buffered ones (moving them to the front first if needed).
    // 0 when the peer closed or the buffer is full. Errors as SocketIo::read_some.
    Result<std::size_t> fill(Deadline deadline);
    // Up to n bytes for a body: buffered ones first, else straight from the socket into `out`
    // (no copy for large bodies). 0 when the peer closed.
    Result<std::size_t> read(char* out, std::size_t n, Deadline deadline);

    SocketIo& io() { return io_; }

private:
    SocketIo& io_;
    std::vector<char> buf_;
    std::size_t pos_ = 0;
    std::size_t end_ = 0;
};

}  // namespace moat::edge::service_internal

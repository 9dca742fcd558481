#include "edge/service/internal/input_buffer.h"

#include <algorithm>
#include <cstring>

namespace moat::edge::service_internal {

Result<std::size_t> InputBuffer::fill(Deadline deadline) {
    if (pos_ == end_) pos_ = end_ = 0;
    if (end_ == buf_.size() && pos_ > 0) {
        std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
        end_ -= pos_;
        pos_ = 0;
    }
    if (end_ == buf_.size()) return std::size_t{0};
    auto n = io_.read_some(buf_.data() + end_, buf_.size() - end_, deadline);
    if (!n) return n.error();
    end_ += *n;
    return *n;
}

Result<std::size_t> InputBuffer::read(char* out, std::size_t n, Deadline deadline) {
    if (n == 0) return std::size_t{0};
    if (pos_ < end_) {
        std::size_t k = std::min(n, end_ - pos_);
        std::memcpy(out, buf_.data() + pos_, k);
        pos_ += k;
        return k;
    }
    pos_ = end_ = 0;
    // Large reads go straight into the caller's buffer; small ones (the tail of a chunk, a
    // CRLF) fill the buffer instead, so the framing that follows needs no extra recv().
    if (n >= buf_.size() / 4) return io_.read_some(out, n, deadline);
    auto got = fill(deadline);
    if (!got || *got == 0) return got;
    const std::size_t k = std::min(n, end_ - pos_);
    std::memcpy(out, buf_.data() + pos_, k);
    pos_ += k;
    return k;
}

}  // namespace moat::edge::service_internal

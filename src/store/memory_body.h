#pragma once
// A BodySource over bytes already in memory, for the parts that put small objects of their
// own (ACME state, TLS-RPT reports, release variants).

#include <cstring>
#include <string_view>

#include "store/store.h"

namespace moat::store {

class MemoryBody : public BodySource {
public:
    // `data` is the caller's and must stay alive for the put() that reads it.
    explicit MemoryBody(std::string_view data) : data_(data) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        std::size_t k = n < data_.size() - at_ ? n : data_.size() - at_;
        std::memcpy(buf, data_.data() + at_, k);
        at_ += k;
        return k;
    }

private:
    std::string_view data_;
    std::size_t at_ = 0;
};

}  // namespace moat::store

#pragma once
// Helpers for the store tests: a fresh temp folder per test, bodies from strings, reading a
// whole object back.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "store/store.h"
#include "support/temp_dir.h"

namespace moat::store::testing {

using TempDir = test_support::TempDir;

// A body that hands out `data` in pieces of `piece` bytes; fails on the last read when `fail`.
class StringBody : public BodySource {
public:
    explicit StringBody(std::string data, std::size_t piece = 100000, bool fail = false)
        : data_(std::move(data)), piece_(piece), fail_(fail) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        if (at_ == data_.size()) {
            if (fail_)
                return store_error(Errc::kInvalidArgument, Reason::kBodyRejected, "bad digest");
            return std::size_t{0};
        }
        std::size_t take = std::min({n, piece_, data_.size() - at_});
        std::copy_n(data_.data() + at_, take, buf);
        at_ += take;
        return take;
    }

private:
    std::string data_;
    std::size_t piece_;
    bool fail_;
    std::size_t at_ = 0;
};

inline StoreSettings settings_for(const std::string& dir) {
    StoreSettings s;
    s.enabled = true;
    s.dir = dir;
    s.default_buckets = false;
    s.min_free_bytes = 0;  // test folders live on whatever disk CI has
    return s;
}

inline std::string random_data(std::size_t n, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

inline Result<std::string> read_all(Store& st, std::string_view bucket, std::string_view key,
                                    std::string_view version = {}) {
    auto r = st.open_object(bucket, key, version);
    if (!r) return r.error();
    std::string out((*r)->info().size, '\0');
    std::size_t at = 0;
    while (at < out.size()) {
        auto n = (*r)->read_at(at, out.data() + at, out.size() - at);
        if (!n) return n.error();
        if (*n == 0) break;
        at += *n;
    }
    out.resize(at);
    return out;
}

inline ObjectInfo put_ok(Store& st, std::string_view bucket, std::string_view key,
                         const std::string& data, PutOptions opts = {}) {
    StringBody body(data);
    auto r = st.put(bucket, key, body, opts);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? *r : ObjectInfo{};
}

inline std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace moat::store::testing

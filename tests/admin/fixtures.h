#pragma once
// Shared by the admin tests: a temp folder, settings inside it, and in-memory
// edge::ServiceBody / ServiceResponse.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>

#include "admin/settings.h"
#include "edge/service.h"
#include "support/temp_dir.h"

namespace moat::admin::testing {

namespace fs = std::filesystem;

using TempDir = test_support::TempDir;

inline AdminSettings settings_in(const TempDir& d) {
    AdminSettings s;
    s.enabled = true;
    s.db_path = d.path() + "/admin.db";
    s.audit_db_path = d.path() + "/audit.db";
    s.key_file = d.path() + "/admin.key";
    return s;
}

class MemBody : public edge::ServiceBody {
public:
    explicit MemBody(std::string data, bool with_length = true)
        : data_(std::move(data)),
          len_(with_length ? std::optional<std::uint64_t>(data_.size()) : std::nullopt) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        std::size_t take = std::min(n, data_.size() - pos_);
        std::copy_n(data_.data() + pos_, take, buf);
        pos_ += take;
        max_read_ = std::max(max_read_, n);
        return take;
    }
    std::optional<std::uint64_t> length() const override { return len_; }
    std::size_t consumed() const { return pos_; }
    std::size_t max_read_ = 0;  // the largest read asked for

private:
    std::string data_;
    std::optional<std::uint64_t> len_;
    std::size_t pos_ = 0;
};

class MemResponse : public edge::ServiceResponse {
public:
    Result<void> start(int status, const edge::ServiceHeaders& headers,
                       std::uint64_t content_length) override {
        EXPECT_FALSE(started_);
        started_ = true;
        status_ = status;
        headers_ = headers;
        announced_ = content_length;
        return {};
    }
    Result<void> write(std::string_view bytes) override {
        body_.append(bytes);
        return {};
    }
    bool started() const override { return started_; }
    std::string header(std::string_view name) const {
        for (const auto& [k, v] : headers_)
            if (k == name) return v;
        return "";
    }

    int status_ = 0;
    edge::ServiceHeaders headers_;
    std::uint64_t announced_ = 0;
    std::string body_;
    bool started_ = false;
};

}  // namespace moat::admin::testing

#pragma once
// A fresh folder under the system temp folder for one test, removed with everything in it when
// the test ends.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace moat::test_support {

class TempDir {
public:
    explicit TempDir(const std::string& prefix = "moat-test") {
        std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        EXPECT_NE(::mkdtemp(tmpl.data()), nullptr) << tmpl;
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

}  // namespace moat::test_support

// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/sys/temp_dir.hh: a fresh folder under /tmp for one test, removed
// with everything in it when the test ends.
//
// Thread contract: host side, the test's thread.

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace airlock::test {

class temp_dir {
  public:
    // `/tmp/<prefix>-XXXXXX`; path() is empty when mkdtemp failed.
    explicit temp_dir(const std::string& prefix) {
        std::string pattern = "/tmp/" + prefix + "-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) path_ = std::move(pattern);
    }
    ~temp_dir() {
        std::error_code ignored;
        if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

  private:
    std::string path_;
};

}  // namespace airlock::test

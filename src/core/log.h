#pragma once
// Named spdlog loggers, one per part (STYLE.md §6). Call init_logging() once at start-up;
// logger("edge") is cheap afterwards and safe from any thread.

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace moat::core {

// level: "trace", "debug", "info", "warn", "error", "off". Writes to stderr.
void init_logging(std::string_view level);

// The logger for a part; created on first use with the level set by init_logging().
std::shared_ptr<spdlog::logger> logger(const char* part);

}  // namespace moat::core

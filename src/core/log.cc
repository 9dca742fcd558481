#include "core/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace moat::core {
namespace {

std::mutex g_mu;
spdlog::level::level_enum g_level = spdlog::level::info;
std::shared_ptr<spdlog::sinks::sink> g_sink;

// Log times are UTC, like the access log (RFC 3339 with a Z).
void set_utc_pattern() {
    g_sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %n: %v", spdlog::pattern_time_type::utc));
}

}  // namespace

void init_logging(std::string_view level) {
    std::lock_guard lock(g_mu);
    g_level = spdlog::level::from_str(std::string(level));
    if (!g_sink) g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    set_utc_pattern();
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
}

std::shared_ptr<spdlog::logger> logger(const char* part) {
    if (auto l = spdlog::get(part)) return l;
    std::lock_guard lock(g_mu);
    if (auto l = spdlog::get(part)) return l;
    if (!g_sink) {
        g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        set_utc_pattern();
    }
    auto l = std::make_shared<spdlog::logger>(part, g_sink);
    l->set_level(g_level);
    spdlog::register_logger(l);
    return l;
}

}  // namespace moat::core

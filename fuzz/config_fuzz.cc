// libFuzzer target: any bytes given to the config loader must give diagnostics or a Config,
// never a crash, a hang or an escaped exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = moat::config::load_string(text, "fuzz.toml");
    // Formatting every diagnostic exercises the message code paths too.
    std::size_t total = 0;
    for (const auto& d : result.diagnostics) total += d.to_string().size();
    if (result.config && result.config->sites.empty()) __builtin_trap();  // a site is required
    (void)total;
    return 0;
}

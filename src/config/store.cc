// Reads the [store] section of moat.toml into Config::store.
#include "config/internal/reader.h"

namespace moat::config::internal {

void read_store(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    (void)top;
    (void)base;
    (void)cfg;
}

}  // namespace moat::config::internal

#pragma once
// Settings of the store part: a plain struct filled by config/ (STYLE.md §2), no logic.

namespace moat::store {

struct StoreSettings {
    bool enabled = false;
};

}  // namespace moat::store

#pragma once
// Settings of the acme part: a plain struct filled by config/ (STYLE.md §2), no logic.

namespace moat::acme {

struct AcmeSettings {
    bool enabled = false;
};

}  // namespace moat::acme

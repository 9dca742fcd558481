#pragma once
// Settings of the mail part: a plain struct filled by config/ (STYLE.md §2), no logic.

namespace moat::mail {

struct MailSettings {
    bool enabled = false;
};

}  // namespace moat::mail

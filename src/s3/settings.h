#pragma once
// Settings of the s3 part: a plain struct filled by config/ (STYLE.md §2), no logic.

namespace moat::s3 {

struct S3Settings {
    bool enabled = false;
};

}  // namespace moat::s3

#pragma once
// The demo's release flow: on the first start of `moat serve --demo`, its example site's
// production and testing environments get their first releases (made by the same deploy,
// promotion and approval the CLI uses), and two principals (a deployer and an approver, with
// tokens and TOTP secrets) are written to <data_dir>/demo-principals for the CLI.

#include <string>

#include "admin/principals.h"
#include "core/result.h"
#include "release/service.h"

namespace moat::app {

// When `site` has no production release yet: deploys <data_dir>/demo/production to testing,
// promotes it (approved by a second demo identity), then deploys <data_dir>/demo/testing to
// testing. Kept releases are left alone on later starts.
Result<void> seed_demo_releases(const std::string& data_dir, const std::string& site,
                                release::ReleaseService& releases);

// Writes <data_dir>/demo-principals (0600) unless it exists and both principals still do:
// profiles demo-deployer and demo-approver with url, ca, token and totp_secret.
Result<std::string> ensure_demo_principals(const std::string& data_dir, admin::Principals& p,
                                           const std::string& admin_url,
                                           const std::string& ca_file);

}  // namespace moat::app

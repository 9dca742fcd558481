#pragma once
// Start-up and reload step for the policy sites: makes sure every configured domain has a
// persisted TXT id for the policy about to be served, and logs the record to publish when the
// id changed (RFC 8461 §8.1: serve the new policy first, then publish the new id).
// Blocking file I/O; runs on the thread that builds the runtime, never on a worker.

#include "core/result.h"
#include "mail/settings.h"

namespace moat::mail {

Result<void> publish_policy_ids(const MailSettings& settings);

}  // namespace moat::mail

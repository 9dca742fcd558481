#include "mail/publish.h"

#include "core/log.h"
#include "mail/grammar.h"
#include "mail/policy_id.h"

namespace moat::mail {

Result<void> publish_policy_ids(const MailSettings& settings) {
    auto log = core::logger("mail");
    for (const auto& d : settings.domains) {
        auto id = current_policy_id(settings.state_dir, d.domain, grammar::render_policy(d),
                                    std::chrono::system_clock::now());
        if (!id) return id.error();
        if (id->bumped) {
            log->warn(
                "mta-sts policy changed domain={} id={} previous={}: publish "
                "_mta-sts.{} TXT \"{}\" (see `moat dns {}`)",
                d.domain, id->id, id->previous_id.empty() ? "-" : id->previous_id, d.domain,
                grammar::sts_txt(id->id), d.domain);
        } else {
            log->info("mta-sts policy domain={} id={}", d.domain, id->id);
        }
    }
    return {};
}

}  // namespace moat::mail

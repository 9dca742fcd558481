#pragma once
// TLS for the control-plane listeners (S3 API, admin API): a certificate from the internal CA
// naming the listener's hosts and the addresses it listens on, HTTP/1.1 only.

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "tls/internal_ca.h"
#include "tls/server_context.h"

namespace moat::app {

// `wildcards`: also "*.<host>" for hosts with a dot (S3 virtual-host-style addressing).
Result<std::shared_ptr<tls::ServerContext>> service_tls(const config::Config& cfg,
                                                        const std::vector<std::string>& hosts,
                                                        const std::vector<std::string>& listen,
                                                        bool wildcards, tls::InternalCa& ca);

}  // namespace moat::app

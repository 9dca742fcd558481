#include "mail/check_format.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace moat::mail {

std::string format_table(const CheckReport& r) {
    std::string out = fmt::format("moat check mail {}\n\n{:<4} {:<5} {:<16} {}\n", r.domain, "ID",
                                  "", "RFC", "RESULT");
    for (const auto& c : r.results)
        out +=
            fmt::format("{:<4} {:<5} {:<16} {}\n", c.id, status_name(c.status), c.rfc, c.message);
    int counts[4] = {0, 0, 0, 0};
    for (const auto& c : r.results) counts[static_cast<int>(c.status)]++;
    out += fmt::format("\n{} PASS, {} INFO, {} WARN, {} FAIL: overall {}\n", counts[0], counts[1],
                       counts[2], counts[3], status_name(r.worst));
    return out;
}

std::string format_json(const CheckReport& r) {
    nlohmann::json j;
    j["domain"] = r.domain;
    j["overall"] = status_name(r.worst);
    j["results"] = nlohmann::json::array();
    for (const auto& c : r.results)
        j["results"].push_back({{"id", c.id},
                                {"status", status_name(c.status)},
                                {"message", c.message},
                                {"rfc", c.rfc}});
    // Messages may quote bytes from the network: never let invalid UTF-8 throw.
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

int exit_code(const CheckReport& r) {
    switch (r.worst) {
        case Status::kFail:
            return 1;
        case Status::kWarn:
            return 3;
        default:
            return 0;
    }
}

}  // namespace moat::mail

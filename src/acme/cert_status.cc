#include "acme/cert_status.h"

#include <nlohmann/json.hpp>

namespace moat::acme {
namespace {

using json = nlohmann::json;
using TimePoint = CertStatus::TimePoint;

long long secs(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
TimePoint from_secs(long long s) { return TimePoint(std::chrono::seconds(s)); }

}  // namespace

std::string CertStatus::state(TimePoint now) const {
    if (!has_cert) return failures > 0 ? "failing" : "missing";
    if (now >= not_after) return "expired";
    if (failures > 0) return "failing";
    if (now >= renew_at) return "renewing";
    return "valid";
}

std::string backoff_to_json(const OrderBackoff& b) {
    return json{{"failures", b.failures},
                {"not_before", secs(b.not_before)},
                {"last_error", b.last_error}}
               .dump() +
           "\n";
}

Result<OrderBackoff> backoff_from_json(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return make_error(Errc::kInvalidArgument, "order backoff is not a JSON object");
    try {
        OrderBackoff b;
        b.failures = j.at("failures").get<int>();
        b.not_before = from_secs(j.at("not_before").get<long long>());
        b.last_error = j.value("last_error", std::string());
        return b;
    } catch (const json::exception& e) {
        return make_error(Errc::kInvalidArgument, std::string("order backoff: ") + e.what());
    }
}

std::string status_to_json(const CertStatus& s) {
    json j = {{"name", s.name},
              {"names", s.names},
              {"key_type", s.rsa ? "rsa2048" : "ecdsa-p256"},
              {"has_cert", s.has_cert},
              {"issuer", s.issuer},
              {"not_after", secs(s.not_after)},
              {"renew_at", secs(s.renew_at)},
              {"ari", s.ari},
              {"failures", s.failures},
              {"last_error", s.last_error},
              {"next_attempt", secs(s.next_attempt)},
              {"last_issued", secs(s.last_issued)}};
    return j.dump(2) + "\n";
}

Result<CertStatus> status_from_json(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return make_error(Errc::kInvalidArgument, "status file is not a JSON object");
    try {
        CertStatus s;
        s.name = j.at("name").get<std::string>();
        s.names = j.value("names", std::vector<std::string>{});
        s.rsa = j.value("key_type", std::string()) == "rsa2048";
        s.has_cert = j.value("has_cert", false);
        s.issuer = j.value("issuer", std::string());
        s.not_after = from_secs(j.value("not_after", 0LL));
        s.renew_at = from_secs(j.value("renew_at", 0LL));
        s.ari = j.value("ari", false);
        s.failures = j.value("failures", 0);
        s.last_error = j.value("last_error", std::string());
        s.next_attempt = from_secs(j.value("next_attempt", 0LL));
        s.last_issued = from_secs(j.value("last_issued", 0LL));
        return s;
    } catch (const json::exception& e) {
        return make_error(Errc::kInvalidArgument, std::string("status file: ") + e.what());
    }
}

}  // namespace moat::acme

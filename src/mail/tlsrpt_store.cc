#include "mail/tlsrpt_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mail/grammar.h"
#include "mail/policy_id.h"

namespace moat::mail {
namespace {

namespace fs = std::filesystem;

std::string day_of(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

// Creates `path` with `data` only if it does not exist yet: write a temp file, then link() it
// into place (link fails with EEXIST where rename would overwrite).
Result<bool> create_once(const fs::path& path, std::string_view data) {
    std::string tmp = path.string() + ".tmp." + std::to_string(::getpid()) + "." +
                      std::to_string(reinterpret_cast<std::uintptr_t>(&data));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return make_error(Errc::kIo, "open " + tmp + ": " + std::strerror(errno));
    bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
              ::fsync(fd) == 0;
    int err = errno;
    ::close(fd);
    if (!ok) {
        ::unlink(tmp.c_str());
        return make_error(Errc::kIo, "write " + tmp + ": " + std::strerror(err));
    }
    int rc = ::link(tmp.c_str(), path.c_str());
    err = errno;
    ::unlink(tmp.c_str());
    if (rc == 0) return true;
    if (err == EEXIST) return false;
    return make_error(Errc::kIo, "link " + path.string() + ": " + std::strerror(err));
}

}  // namespace

Result<TlsRptStore::Added> TlsRptStore::add(const TlsRptReport& report, std::string_view json,
                                            const std::vector<std::string>& domains) {
    // RFC 8460 §4.3: report-id is unique per sender; the organisation scopes it.
    std::string key = sha256_hex(report.organization + "\n" + report.report_id).substr(0, 32);
    std::string name = day_of(report.start) + "_" + key + ".json";
    bool any_new = false;
    for (const auto& d : domains) {
        if (!grammar::domain_error(d).empty())
            return make_error(Errc::kInvalidArgument, "bad domain " + d);
        fs::path folder = fs::path(dir_) / d;
        std::error_code ec;
        fs::create_directories(folder, ec);
        if (ec) return make_error(Errc::kIo, "create " + folder.string() + ": " + ec.message());
        auto created = create_once(folder / name, json);
        if (!created) return created.error();
        any_new = any_new || *created;
    }
    return any_new ? Added::kNew : Added::kDuplicate;
}

Result<TlsRptSummary> TlsRptStore::summarize(const std::string& domain) const {
    if (!grammar::domain_error(domain).empty())
        return make_error(Errc::kInvalidArgument, "\"" + domain + "\" is not a domain");
    TlsRptSummary s;
    s.domain = domain;
    fs::path folder = fs::path(dir_) / domain;
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) return s;  // no reports yet
    for (const auto& e : fs::directory_iterator(folder, ec)) {
        if (e.path().extension() != ".json") continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream buf;
        buf << in.rdbuf();
        auto r = parse_tlsrpt(buf.str());
        if (!r) {
            ++s.unreadable;
            continue;
        }
        std::string day = day_of(r->start);
        std::string org = r->organization.empty() ? "(unnamed)" : r->organization;
        s.total.reports++;
        s.by_day[day].reports++;
        s.by_organization[org].reports++;
        for (const auto& p : r->policies) {
            if (p.domain != domain) continue;
            s.total.success += p.success;
            s.total.failure += p.failure;
            s.by_day[day].success += p.success;
            s.by_day[day].failure += p.failure;
            s.by_organization[org].success += p.success;
            s.by_organization[org].failure += p.failure;
            s.by_policy_type[p.type.empty() ? "(none)" : p.type] += p.success + p.failure;
            for (const auto& f : p.failures) {
                s.failures_by_type[f.result_type.empty() ? "(unspecified)" : f.result_type] +=
                    f.count;
                s.failures_by_mx[f.receiving_mx_hostname.empty() ? "(unspecified)"
                                                                 : f.receiving_mx_hostname] +=
                    f.count;
            }
        }
    }
    return s;
}

std::string summary_text(const TlsRptSummary& s) {
    std::string out = fmt::format(
        "TLS-RPT reports for {}: {} report(s), {} successful and {} failed session(s)\n", s.domain,
        s.total.reports, s.total.success, s.total.failure);
    if (s.total.reports == 0) return out;
    out += "\nBy day (UTC):\n";
    for (const auto& [k, v] : s.by_day)
        out += fmt::format("  {}  reports {:>4}  ok {:>8}  failed {:>6}\n", k, v.reports, v.success,
                           v.failure);
    out += "\nBy sending organisation:\n";
    for (const auto& [k, v] : s.by_organization)
        out += fmt::format("  {:<32} reports {:>4}  ok {:>8}  failed {:>6}\n", k, v.reports,
                           v.success, v.failure);
    if (!s.failures_by_type.empty()) {
        out += "\nFailures by type (RFC 8460 §4.3):\n";
        for (const auto& [k, v] : s.failures_by_type) out += fmt::format("  {:<32} {}\n", k, v);
    }
    if (!s.failures_by_mx.empty()) {
        out += "\nFailures by MX:\n";
        for (const auto& [k, v] : s.failures_by_mx) out += fmt::format("  {:<32} {}\n", k, v);
    }
    if (s.unreadable) out += fmt::format("\n{} stored file(s) could not be read\n", s.unreadable);
    return out;
}

std::string summary_json(const TlsRptSummary& s) {
    using nlohmann::json;
    auto counts = [](const TlsRptCounts& c) {
        return json{{"reports", c.reports}, {"success", c.success}, {"failure", c.failure}};
    };
    json j;
    j["domain"] = s.domain;
    j["total"] = counts(s.total);
    j["by_day"] = json::object();
    for (const auto& [k, v] : s.by_day) j["by_day"][k] = counts(v);
    j["by_organization"] = json::object();
    for (const auto& [k, v] : s.by_organization) j["by_organization"][k] = counts(v);
    j["failures_by_type"] = s.failures_by_type;
    j["failures_by_mx"] = s.failures_by_mx;
    j["by_policy_type"] = s.by_policy_type;
    j["unreadable"] = s.unreadable;
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace moat::mail

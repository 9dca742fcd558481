#include "mail/tlsrpt_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "mail/grammar.h"

namespace moat::mail {
namespace fs = std::filesystem;

Result<TlsRptSink::Added> TlsRptStore::add(const TlsRptReport& report, std::string_view json,
                                           const std::vector<std::string>& domains) {
    std::string name = tlsrpt_day(report) + "_" + tlsrpt_report_hash(report) + ".json";
    bool any_new = false;
    for (const auto& d : domains) {
        if (!grammar::domain_error(d).empty())
            return make_error(Errc::kInvalidArgument, "bad domain " + d);
        fs::path folder = fs::path(dir_) / d;
        std::error_code ec;
        fs::create_directories(folder, ec);
        if (ec) return make_error(Errc::kIo, "create " + folder.string() + ": " + ec.message());
        auto created = core::create_file_once((folder / name).string(), json, 0640);
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
        add_to_summary(s, *r);
    }
    return s;
}

}  // namespace moat::mail

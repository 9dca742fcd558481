#include "mail/tlsrpt_move.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "mail/grammar.h"

namespace moat::mail {
namespace {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return make_error(Errc::kIo, "cannot open");
    std::stringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return make_error(Errc::kIo, "read failed");
    return buf.str();
}

// One report file of `domain`'s folder: into the sink, then off the disk.
void move_one(const fs::path& file, const std::string& domain, TlsRptSink& into, TlsRptMoved& out) {
    auto log = core::logger("mail");
    auto json = read_file(file);
    if (!json) {
        log->warn("tls-rpt move: left file={} err={}", file.string(), json.error().detail);
        ++out.left;
        return;
    }
    auto report = parse_tlsrpt(*json);
    if (!report) {
        log->warn("tls-rpt move: left file={} (not a TLS-RPT report: {})", file.string(),
                  report.error().detail);
        ++out.left;
        return;
    }
    auto added = into.add(*report, *json, {domain});
    if (!added) {
        log->warn("tls-rpt move: kept file={} store err={}", file.string(), added.error().detail);
        ++out.failed;
        return;
    }
    // Only now, with the object durable, may the file go.
    std::error_code ec;
    fs::remove(file, ec);
    if (ec)
        log->warn(
            "tls-rpt move: stored but cannot remove file={} err={} (a later start "
            "sees a duplicate)",
            file.string(), ec.message());
    ++(*added == TlsRptSink::Added::kNew ? out.moved : out.duplicates);
}

}  // namespace

Result<TlsRptMoved> move_folder_reports(const std::string& dir, TlsRptSink& into) try {
    TlsRptMoved out;
    std::error_code ec;
    if (dir.empty() || !fs::is_directory(dir, ec)) return out;
    auto log = core::logger("mail");
    fs::directory_iterator domains(dir, ec);
    if (ec) return make_error(Errc::kIo, "list " + dir + ": " + ec.message());
    for (const auto& d : domains) {
        if (!d.is_directory(ec)) continue;
        std::string domain = d.path().filename().string();
        if (!grammar::domain_error(domain).empty() || grammar::to_lower(domain) != domain) {
            log->warn("tls-rpt move: left folder={} (not a policy domain)", d.path().string());
            ++out.left;
            continue;
        }
        // Listed first, moved after: removing entries while iterating is unspecified.
        // Temp files of a receiver that died mid-write (<name>.json.tmp.*) are not reports.
        std::vector<fs::path> files;
        for (const auto& f : fs::directory_iterator(d.path()))
            if (f.is_regular_file(ec) && f.path().extension() == ".json") files.push_back(f.path());
        for (const auto& f : files) move_one(f, domain, into, out);
        fs::remove(d.path(), ec);  // only when empty: ENOTEMPTY keeps what was left
    }
    if (out.moved + out.duplicates + out.left + out.failed > 0)
        log->info("tls-rpt move: from={} into the store moved={} duplicates={} left={} failed={}",
                  dir, out.moved, out.duplicates, out.left, out.failed);
    return out;
} catch (const fs::filesystem_error& e) {
    return make_error(Errc::kIo, "list " + dir + ": " + e.what());
}

}  // namespace moat::mail

#include "mail/tlsrpt_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mail/grammar.h"

namespace moat::mail {
namespace {

namespace fs = std::filesystem;

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
        add_to_summary(s, *r);
    }
    return s;
}

}  // namespace moat::mail

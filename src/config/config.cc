// Diagnostic formatting and the file-less Config of `moat serve --root`.
#include "config/config.h"

#include <fmt/format.h>

#include <filesystem>

#include "config/values.h"

namespace moat::config {

std::string Diagnostic::to_string() const {
    std::string out = warning ? "warning: " : "";
    out += file;
    if (line > 0) out += fmt::format(":{}:{}", line, column);
    out += ": ";
    if (!key.empty()) out += key + ": ";
    out += message;
    return out;
}

Result<std::shared_ptr<const Config>> config_for_root(const std::string& root,
                                                      const std::vector<std::string>& listen,
                                                      const std::string& cert,
                                                      const std::string& key) {
    namespace fs = std::filesystem;
    auto invalid = [](std::string detail) {
        return make_error(Errc::kInvalidArgument, std::move(detail));
    };
    std::error_code ec;
    fs::path dir = fs::absolute(root, ec).lexically_normal();
    if (root.empty() || ec || !fs::is_directory(dir, ec))
        return invalid(fmt::format("--root {}: not an existing directory", root));
    for (const auto& l : listen) {
        auto addr = parse_listen(l);
        if (!addr) return invalid(fmt::format("--listen {}: {}", l, addr.error().detail));
    }
    if (cert.empty() != key.empty()) return invalid("--cert and --key must be given together");

    auto cfg = std::make_shared<Config>();
    fs::path data = fs::absolute("moat-data", ec).lexically_normal();
    if (ec) return invalid(fmt::format("cannot resolve moat-data: {}", ec.message()));
    cfg->data_dir = data.string();
    if (!listen.empty()) cfg->edge.https_listen = listen;
    // A quick local server: no port 80 and no metrics port to collide with another instance.
    cfg->edge.http_listen.clear();
    cfg->edge.metrics_listen.clear();
    cfg->edge.access_log_dir = cfg->data_dir + "/logs";

    site::SiteSettings s;
    s.host = "localhost";
    s.name = "localhost";
    s.environments.push_back({"production", "localhost", dir.string()});
    s.any_host = true;  // any Host, like caddy file-server: the one site answers everything
    cfg->sites.push_back(std::move(s));

    tls::CertSpec spec;
    spec.names = {"localhost"};
    if (!cert.empty()) {
        spec.source = tls::CertSource::kFiles;
        spec.cert_file = fs::absolute(cert, ec).lexically_normal().string();
        spec.key_file = fs::absolute(key, ec).lexically_normal().string();
        for (const auto* f : {&spec.cert_file, &spec.key_file}) {
            if (!fs::is_regular_file(*f, ec))
                return invalid(fmt::format("{}: not an existing file", *f));
        }
    }
    cfg->tls.certs.push_back(std::move(spec));
    // Any SNI (or none, for https://127.0.0.1/) gets the localhost certificate.
    cfg->tls.default_host = "localhost";
    cfg->tls.internal_ca_dir = cfg->data_dir + "/ca";
    return std::shared_ptr<const Config>(std::move(cfg));
}

}  // namespace moat::config

#include "app/demo_releases.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "app/demo.h"
#include "core/log.h"

namespace moat::app {
namespace {

namespace fs = std::filesystem;

constexpr char kSeeder[] = "moat-demo-setup";
constexpr char kSeedApprover[] = "moat-demo-setup-approver";

class FileBody : public store::BodySource {
public:
    explicit FileBody(int fd) : fd_(fd) {}
    ~FileBody() override { ::close(fd_); }
    Result<std::size_t> read(char* buf, std::size_t n) override {
        ssize_t r = ::read(fd_, buf, n);
        if (r < 0) return make_error(Errc::kIo, "read demo file");
        return static_cast<std::size_t>(r);
    }

private:
    int fd_;
};

Result<std::string> sha256_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) return make_error(Errc::kIo, "open " + p.string());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    char buf[65536];
    while (f.read(buf, sizeof buf) || f.gcount() > 0)
        EVP_DigestUpdate(ctx, buf, static_cast<std::size_t>(f.gcount()));
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

// The demo's own folder: regular files only (it was written by prepare_demo).
Result<void> deploy_folder(release::ReleaseService& rs, const std::string& site,
                           const fs::path& root, const std::string& by) {
    std::vector<release::DeployFile> files;
    std::map<std::string, fs::path> by_hash;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        release::DeployFile f;
        f.path = fs::relative(it->path(), root).generic_string();
        auto h = sha256_file(it->path());
        if (!h) return h.error();
        f.sha256 = *h;
        f.size = it->file_size();
        by_hash.emplace(f.sha256, it->path());
        files.push_back(std::move(f));
    }
    if (ec) return make_error(Errc::kIo, "walk " + root.string() + ": " + ec.message());
    auto missing = rs.missing(site, "testing", files);
    if (!missing) return missing.error();
    for (const auto& h : *missing) {
        for (const auto& f : files) {
            if (f.sha256 != h) continue;
            int fd = ::open(by_hash[h].c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) return make_error(Errc::kIo, "open " + by_hash[h].string());
            FileBody body(fd);
            auto up = rs.upload(site, "testing", f, body, by);
            if (!up) return up.error();
            break;
        }
    }
    auto r = rs.deploy(site, "testing", files, by);
    if (!r) return r.error();
    return {};
}

}  // namespace

Result<void> seed_demo_releases(const std::string& data_dir, const std::string& site,
                                release::ReleaseService& rs) {
    auto st = rs.status(site);
    if (!st) return st.error();
    for (const auto& e : st->environments)
        if (e.protected_env && !e.release.empty()) return {};
    const fs::path dir(data_dir);
    MOAT_TRY(deploy_folder(rs, site, dir / "demo" / "production", kSeeder));
    auto p = rs.promote(site, "testing", "", kSeeder);
    if (!p) return p.error();
    if (!p->promoted) {
        auto a = rs.approve(site, p->release.id, kSeedApprover);
        if (!a) return a.error();
    }
    MOAT_TRY(deploy_folder(rs, site, dir / "demo" / "testing", kSeeder));
    core::logger("app")->info("demo: first releases of {} made (production and testing)", site);
    return {};
}

Result<std::string> ensure_demo_principals(const std::string& data_dir, admin::Principals& p,
                                           const std::string& admin_url,
                                           const std::string& ca_file) {
    const fs::path file = fs::path(data_dir) / "demo-principals";
    auto list = p.list();
    if (!list) return list.error();
    int known = 0;
    for (const auto& x : *list) known += (x.name == "demo-deployer" || x.name == "demo-approver");
    std::error_code ec;
    if (known == 2 && fs::exists(file, ec)) return file.string();

    std::string text =
        "# moat demo principals: profiles for the moat CLI (--profile NAME), written by\n"
        "# `moat serve --demo`. The TOTP secrets are here so the CLI can compute codes itself:\n"
        "# fine for a demo, never for real principals (enrol them in an authenticator app).\n";
    for (auto [name, role] : {std::pair{"demo-deployer", admin::Role::kDeployer},
                              std::pair{"demo-approver", admin::Role::kApprover}}) {
        bool exists = false;
        for (const auto& x : *list) exists = exists || x.name == name;
        auto e = exists ? p.reset(name) : p.create(name, role);
        if (!e) return e.error();
        text += "\n[" + std::string(name) + "]\nurl = " + admin_url + "\nca = " + ca_file +
                "\nrole = " + std::string(admin::role_name(role)) + "\ntoken = " + e->token +
                "\ntotp_secret = " + e->totp_secret + "\n";
    }
    MOAT_TRY(write_private_file(file.string(), text));
    return file.string();
}

}  // namespace moat::app

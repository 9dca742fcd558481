#include "app/demo.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string_view>

namespace moat::app {
namespace {

namespace fs = std::filesystem;

constexpr char kLogoPng[] =
    "\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x10\x00\x00\x00"
    "\x10\x08\x06\x00\x00\x00\x1f\xf3\xff\x61\x00\x00\x01\x46\x49\x44\x41\x54\x78\xda\x15\xcc\x21"
    "\x6e\x58\x21\x00\x00\xd0\x9d\x64\x07\xd8\x01\x38\x00\x07\x20\x93\x0b\xaa\x8a\x4c\x36\xa8\x2a"
    "\x52\xd9\xa0\xaa\x48\x65\xf3\x55\x15\x99\x6c\x50\x55\x64\x9a\x0b\x6d\xef\x8b\x67\xdf\xb7\xef"
    "\x3f\xdf\xff\xfd\x20\x10\x49\x64\x0a\x95\x46\x67\x70\x31\x59\x6c\x0e\xdf\xbe\xff\x12\x10\x88"
    "\x24\x32\x85\x4a\xa3\x33\xb8\x98\x2c\x36\xe7\xd7\x1d\x3c\x08\x08\x44\x12\x99\x42\xa5\xd1\x19"
    "\x5c\x4c\x16\x9b\xf3\x70\x07\xbf\x05\x04\x22\x89\x4c\xa1\xd2\xe8\x0c\x2e\x26\x8b\xcd\xf9\x7d"
    "\x07\x8f\x02\x02\x91\x44\xa6\x50\x69\x74\x06\x17\x93\xc5\xe6\x3c\xde\xc1\x93\x80\x40\x24\x91"
    "\x29\x54\x1a\x9d\xc1\xc5\x64\xb1\x39\x4f\x77\xf0\x2c\x20\x10\x49\x64\x0a\x95\x46\x67\x70\x31"
    "\x59\x6c\xce\xf3\x1d\xbc\x08\x08\x44\x12\x99\x42\xa5\xd1\x19\x5c\x4c\x16\x9b\xf3\x72\x07\xaf"
    "\x02\x02\x91\x44\xa6\x50\x69\x74\x06\x17\x93\xc5\xe6\xbc\xde\xc1\x9b\x80\x40\x24\x91\x29\x54"
    "\x1a\x9d\xc1\xc5\x64\xb1\x39\x6f\x77\xf0\x2e\x20\x10\x49\x64\x0a\x95\x46\x67\x70\x31\x59\x6c"
    "\xce\xfb\x1d\x7c\x08\x08\x44\x12\x99\x42\xa5\xd1\x19\x5c\x4c\x16\x9b\xf3\x71\x07\x7f\x04\x04"
    "\x22\x89\x4c\xa1\xd2\xe8\x0c\x2e\x26\x8b\xcd\xf9\x73\x07\x9f\x02\x02\x91\x44\xa6\x50\x69\x74"
    "\x06\x17\x93\xc5\xe6\x7c\xde\xc1\x97\x80\x40\x24\x91\x29\x54\x1a\x9d\xc1\xc5\x64\xb1\x39\x5f"
    "\x77\xf0\x57\x40\x20\x92\xc8\x14\x2a\x8d\xce\xe0\x62\xb2\xd8\x1c\xfe\x03\x6f\x15\xa3\x1f\x51"
    "\xaf\x0e\xb2\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

// The example site follows the default Content-Security-Policy: no inline script or style,
// everything from 'self', so the browser console stays clean.
std::string index_html(std::string_view env) {
    return std::string(R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>moat demo ()") +
           std::string(env) + R"()</title>
<link rel="icon" href="/img/logo.png">
<link rel="stylesheet" href="/css/site.css">
</head>
<body>
<header><img src="/img/logo.png" alt="moat logo" width="32" height="32"> <span class="env">)" +
           std::string(env) + R"(</span></header>
<main>
<h1>It works: moat is serving this site ()" +
           std::string(env) + R"()</h1>
<p>Served over HTTPS with TLS 1.2+, HTTP/2, Brotli, zstd and gzip, strict security headers,
and CloudFront-format access logs.</p>
<ul>
<li><a href="/docs/">Documentation (a subfolder with its own index.html)</a></li>
<li><a href="/docs">The same without the slash (301 to /docs/)</a></li>
<li><a href="/missing-page">A missing page (the custom 404)</a></li>
</ul>
<p id="status">JavaScript has not run.</p>
</main>
<script src="/js/app.js"></script>
</body>
</html>
)";
}

constexpr std::string_view kDocsHtml = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>moat demo: docs</title>
<link rel="icon" href="/img/logo.png">
<link rel="stylesheet" href="/css/site.css">
</head>
<body>
<main>
<h1>Docs</h1>
<p>This page is docs/index.html, served for /docs/ without a redirect.</p>
<p><a href="/">Home</a></p>
</main>
</body>
</html>
)";

constexpr std::string_view k404Html = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Not found</title>
<link rel="icon" href="/img/logo.png">
<link rel="stylesheet" href="/css/site.css">
</head>
<body>
<main>
<h1>404: nothing here</h1>
<p>This is the site's own 404 page, sent with status 404.</p>
<p><a href="/">Home</a></p>
</main>
</body>
</html>
)";

constexpr std::string_view kCss = R"(:root { color-scheme: light dark; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 46rem; padding: 1rem; }
header { display: flex; align-items: center; gap: .5rem; }
.env { font-weight: bold; text-transform: uppercase; font-size: .8rem; padding: .1rem .4rem;
       border: 1px solid currentColor; border-radius: .3rem; }
h1 { font-size: 1.6rem; }
a { color: #1f6feb; }
#status.ran { color: #1a7f37; }
)";

constexpr std::string_view kJs =
    R"(// Runs under the default CSP (script-src 'self'): no inline code needed.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const s = document.getElementById('status');
  if (s) {
    s.textContent = 'JavaScript ran at ' + new Date().toISOString() + ' over ' +
      (performance.getEntriesByType('navigation')[0]?.nextHopProtocol || 'unknown protocol');
    s.className = 'ran';
  }
  console.log('moat demo loaded');
});
)";

Result<void> write_once(const fs::path& p, std::string_view data) {
    std::error_code ec;
    if (fs::exists(p, ec)) return {};
    fs::create_directories(p.parent_path(), ec);
    if (ec)
        return make_error(Errc::kIo, "create " + p.parent_path().string() + ": " + ec.message());
    std::ofstream f(p, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f) return make_error(Errc::kIo, "write " + p.string());
    return {};
}

Result<void> write_site(const fs::path& root, std::string_view env) {
    MOAT_TRY(write_once(root / "index.html", index_html(env)));
    MOAT_TRY(write_once(root / "docs" / "index.html", kDocsHtml));
    MOAT_TRY(write_once(root / "404.html", k404Html));
    MOAT_TRY(write_once(root / "css" / "site.css", kCss));
    MOAT_TRY(write_once(root / "js" / "app.js", kJs));
    MOAT_TRY(
        write_once(root / "img" / "logo.png", std::string_view(kLogoPng, sizeof kLogoPng - 1)));
    return {};
}

std::string demo_config() {
    return R"(# moat demo configuration, written by `moat serve --demo` on its first run.
# Edit it freely: it is kept. Every key is documented in docs/configuration.md.
data_dir = "."

[edge]
https = ["127.0.0.1:8443", "[::1]:8443"]
http = ["127.0.0.1:8080", "[::1]:8080"]
metrics = "127.0.0.1:9100"

# The S3 API over moat's store (aws-cli, rclone, s3cmd, boto3): https://localhost:9000,
# credentials in demo-s3-credentials (profile moat-demo).
[s3]
listen = ["127.0.0.1:9000"]
hosts = ["localhost"]

# The admin API the release commands use (moat deploy, promote, approve, rollback ...):
# https://localhost:9001, principals in demo-principals.
[admin]
listen = ["127.0.0.1:9001"]

# Served from the store: production (https://localhost:8443) and testing
# (https://test.localhost:8443) each serve a release. The first ones are made from
# demo/production and demo/testing on the first start; then `moat deploy DIR --site localhost`
# makes a new testing release and `moat promote` / `moat approve` move it to production.
[sites."localhost"]
aliases = ["127.0.0.1", "[::1]", "www.localhost"]
http = "redirect-home"
store = true
approvals = 1

# The MTA-STS policy of the mail domain example.test, served at
# https://mta-sts.example.test:8443/.well-known/mta-sts.txt (resolve the name to 127.0.0.1,
# e.g. curl --resolve mta-sts.example.test:8443:127.0.0.1). `moat dns example.test` prints the
# DNS records to publish for it.
[mail."example.test"]
mode = "testing"
mx = ["mx.example.test"]
max_age = 604800
tlsrpt = ["mailto:tlsrpt@example.test"]
)";
}

// The access key id in an aws-cli credentials file, or "".
std::string credentials_key_id(const fs::path& p) {
    std::ifstream f(p);
    std::string line;
    while (std::getline(f, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string name = line.substr(0, eq), value = line.substr(eq + 1);
        auto trim = [](std::string& v) {
            v.erase(0, v.find_first_not_of(" \t"));
            v.erase(v.find_last_not_of(" \t\r") + 1);
        };
        trim(name);
        trim(value);
        if (name == "aws_access_key_id") return value;
    }
    return {};
}

}  // namespace

Result<void> write_private_file(const std::string& path, const std::string& text) {
    // Written to a private temp file, then renamed: the secret is never world-readable.
    const fs::path p(path);
    fs::path tmp = p;
    tmp += ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        ::chmod(tmp.c_str(), 0600);
        f << text;
        if (!f) return make_error(Errc::kIo, "write " + tmp.string());
    }
    ::chmod(tmp.c_str(), 0600);
    std::error_code ec;
    fs::rename(tmp, p, ec);
    if (ec) return make_error(Errc::kIo, "rename " + p.string() + ": " + ec.message());
    return {};
}

Result<std::string> ensure_demo_s3_credentials(const std::string& data_dir, store::Store& store) {
    fs::path p = fs::path(data_dir) / "demo-s3-credentials";
    std::error_code ec;
    if (fs::exists(p, ec)) {
        std::string id = credentials_key_id(p);
        if (!id.empty() && store.find_key(id)) return p.string();
    }
    auto key = store.create_key(
        "demo-deployer", {{"content", "", true, true, true}, {"logs", "", true, false, true}});
    if (!key) return key.error();
    std::string text =
        "# moat demo: the deployer's S3 key (content: read/write/list, logs: "
        "read/list).\n# AWS_SHARED_CREDENTIALS_FILE=" +
        fs::absolute(p).string() + " aws --profile moat-demo ...\n[moat-demo]\n" +
        "aws_access_key_id = " + key->access_key_id + "\n" +
        "aws_secret_access_key = " + key->secret + "\n";
    MOAT_TRY(write_private_file(p.string(), text));
    return p.string();
}

Result<std::string> prepare_demo(const std::string& data_dir) {
    fs::path dir(data_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return make_error(Errc::kIo, "create " + data_dir + ": " + ec.message());
    ::chmod(dir.c_str(), 0750);
    MOAT_TRY(write_site(dir / "demo" / "production", "production"));
    MOAT_TRY(write_site(dir / "demo" / "testing", "testing"));
    fs::path cfg = dir / "moat.toml";
    MOAT_TRY(write_once(cfg, demo_config()));
    return cfg.string();
}

}  // namespace moat::app

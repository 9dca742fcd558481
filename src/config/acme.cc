// Reads the [acme] section of moat.toml into Config::acme, and points every `tls = "acme"`
// certificate entry at the files the ACME part keeps under <data_dir>/acme/certs/<host>/.
// No calls into src/acme: the config fuzz target compiles config/*.cc alone.
#include <fmt/format.h>

#include <fstream>

#include "config/internal/reader.h"

namespace moat::config::internal {
namespace {

bool valid_host_port(const std::string& s) {
    if (s.empty()) return false;
    if (s.front() == '[') return s.find(']') != std::string::npos;
    return s.find_first_of(" /\"'") == std::string::npos;
}

bool is_base64(const std::string& s, bool url) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '=' ||
                  (url ? (c == '-' || c == '_') : (c == '+' || c == '/'));
        if (!ok) return false;
    }
    return true;
}

// One file per host below certs/: a wildcard's '*' becomes '_' ("_.example.com").
std::string cert_dir(const std::string& state_dir, const std::string& host) {
    std::string h = host;
    for (char& c : h)
        if (c == '*') c = '_';
    return state_dir + "/certs/" + h;
}

void read_dns(TableReader& acme, const std::filesystem::path& base, acme::DnsUpdateSettings& d) {
    const toml::table* t = acme.read_table("dns");
    if (!t) return;
    TableReader r(acme.sink(), *t, acme.key_path("dns"));
    if (r.read_string("server", d.server) && !valid_host_port(d.server))
        r.error("server", "expected \"host:port\" (or \"[v6]:port\")");
    r.read_string("zone", d.zone);
    while (!d.zone.empty() && d.zone.back() == '.') d.zone.pop_back();
    r.read_string("tsig_name", d.tsig_name);
    std::string alg = d.tsig_algorithm;
    if (r.read_choice("tsig_algorithm", alg, {"hmac-sha256", "hmac-sha384", "hmac-sha512"}))
        d.tsig_algorithm = alg;
    bool inline_secret = r.read_string("tsig_secret", d.tsig_secret);
    std::string secret_file;
    if (r.read_string("tsig_secret_file", secret_file)) {
        if (inline_secret) {
            r.error("tsig_secret_file", "set tsig_secret or tsig_secret_file, not both");
        } else {
            std::string path = resolve_path(base, secret_file);
            std::ifstream in(path);
            std::string line;
            if (!in || !std::getline(in, line)) {
                r.error("tsig_secret_file", fmt::format("cannot read {}", path));
            } else {
                while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
                    line.pop_back();
                d.tsig_secret = line;
            }
        }
    }
    // Never echo the secret in a message.
    if (!d.tsig_secret.empty() && !is_base64(d.tsig_secret, false))
        r.error(inline_secret ? "tsig_secret" : "tsig_secret_file",
                "the TSIG secret is not base64");
    if (!d.tsig_name.empty() && d.tsig_secret.empty())
        r.error_here("tsig_name needs tsig_secret or tsig_secret_file");
    if (!d.tsig_secret.empty() && d.tsig_name.empty())
        r.error_here("a TSIG secret needs tsig_name");
    if (r.read_string("hook", d.hook) && !d.hook.empty()) {
        d.hook = resolve_path(base, d.hook);
        if (!d.server.empty()) r.error("hook", "set server (RFC 2136) or hook, not both");
    }
    r.read_duration("propagation_timeout", d.propagation_timeout, std::chrono::seconds(1));
    r.finish();
}

}  // namespace

void read_acme(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    acme::AcmeSettings& a = cfg.acme;
    a.state_dir = cfg.data_dir + "/acme";
    for (auto& spec : cfg.tls.certs) {
        if (spec.source != tls::CertSource::kAcme || spec.names.empty()) continue;
        a.enabled = true;
        std::string dir = cert_dir(a.state_dir, spec.names[0]);
        spec.cert_file = dir + "/fullchain.pem";
        spec.key_file = dir + "/privkey.pem";
    }
    const toml::table* t = top.read_table("acme");
    if (!t) return;
    TableReader r(top.sink(), *t, "acme");

    if (r.read_string("directory", a.directory_url) &&
        !(a.directory_url.starts_with("https://") || a.directory_url.starts_with("http://")))
        r.error("directory", "must be an https:// URL");
    else if (a.directory_url.starts_with("http://"))
        r.error("directory", "must be https:// (RFC 8555 §6.1)");

    if (const toml::node* c = t->get("contact"); c && c->is_string()) {
        r.allow("contact");
        a.contact = {c->value<std::string>().value_or("")};
    } else {
        std::vector<TableReader::Item> items;
        if (r.read_string_list("contact", items)) {
            a.contact.clear();
            for (auto& i : items) a.contact.push_back(i.value);
        }
    }
    for (auto& c : a.contact) {
        if (c.find('@') != std::string::npos && !c.starts_with("mailto:")) c = "mailto:" + c;
        if (!c.starts_with("mailto:") || c.find_first_of(" ,\"") != std::string::npos)
            r.error("contact", fmt::format("\"{}\" is not an e-mail address or mailto: URL", c));
    }
    if (r.read_string("ca_bundle", a.ca_bundle) && !a.ca_bundle.empty()) {
        a.ca_bundle = resolve_path(base, a.ca_bundle);
        if (!std::filesystem::exists(a.ca_bundle))
            r.error("ca_bundle", fmt::format("{} does not exist", a.ca_bundle));
    }
    r.read_string("eab_kid", a.eab_kid);
    r.read_string("eab_hmac_key", a.eab_hmac_key);
    if (a.eab_kid.empty() != a.eab_hmac_key.empty())
        r.error_here("eab_kid and eab_hmac_key go together");
    if (!a.eab_hmac_key.empty() && !is_base64(a.eab_hmac_key, true) &&
        !is_base64(a.eab_hmac_key, false))
        r.error("eab_hmac_key", "is not base64url");

    std::string ch;
    if (r.read_choice("challenge", ch, {"auto", "http-01", "tls-alpn-01", "dns-01"})) {
        a.challenge = ch == "http-01"       ? acme::ChallengeType::kHttp01
                      : ch == "tls-alpn-01" ? acme::ChallengeType::kTlsAlpn01
                      : ch == "dns-01"      ? acme::ChallengeType::kDns01
                                            : acme::ChallengeType::kAuto;
    }
    if (const toml::node* f = r.get("renew_before_fraction")) {
        auto v = f->value<double>();
        if (!v || !(*v > 0 && *v < 1))
            r.error("renew_before_fraction", "must be a number between 0 and 1 (e.g. 0.33)");
        else
            a.renew_before_fraction = *v;
    }
    std::vector<TableReader::Item> types;
    if (const toml::node* k = t->get("key_type"); k && k->is_string()) {
        r.allow("key_type");
        types.push_back({k->value<std::string>().value_or(""), k, "acme.key_type"});
    } else {
        r.read_string_list("key_type", types);
    }
    for (const auto& kt : types) {
        if (kt.value == "rsa2048") {
            a.rsa_extra = true;  // beside the ECDSA one, never instead of it
        } else if (kt.value != "ecdsa-p256") {
            r.error("key_type",
                    fmt::format("\"{}\": expected \"ecdsa-p256\" or \"rsa2048\"", kt.value));
        }
    }
    read_dns(r, base, a.dns);
    if (a.challenge == acme::ChallengeType::kDns01 && !a.dns.configured())
        r.error("challenge", "dns-01 needs [acme.dns] server (with TSIG) or hook");

    // Extra names per canonical host (mail: "mta-sts.<domain>"): added to that certificate.
    if (const toml::table* x = r.read_table("extra_names")) {
        TableReader xr(r.sink(), *x, "acme.extra_names");
        for (auto&& [k, v] : *x) {
            std::vector<TableReader::Item> names;
            if (!xr.read_string_list(k.str(), names)) continue;
            tls::CertSpec* spec = nullptr;
            for (auto& s : cfg.tls.certs)
                if (!s.names.empty() && s.names[0] == k.str()) spec = &s;
            if (spec == nullptr || spec->source != tls::CertSource::kAcme) {
                xr.error(k.str(), "not the host of a site with tls = \"acme\"");
                continue;
            }
            for (auto& n : names) {
                a.extra_names[std::string(k.str())].push_back(n.value);
                spec->names.push_back(n.value);
            }
        }
        xr.finish();
    }
    r.finish();
}

}  // namespace moat::config::internal

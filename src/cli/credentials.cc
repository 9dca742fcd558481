#include "cli/credentials.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace moat::cli {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// The line without its comment: '#' or ';' at the start or after a blank (a value such as a
// path may contain '#' elsewhere).
std::string_view strip_comment(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        if ((line[i] == '#' || line[i] == ';') &&
            (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
            return line.substr(0, i);
    }
    return line;
}

Error at(std::string_view file, int line, const std::string& what) {
    return make_error(Errc::kInvalidArgument,
                      std::string(file) + ":" + std::to_string(line) + ": " + what);
}

}  // namespace

Result<std::vector<Profile>> parse_credentials(std::string_view text, std::string_view file) {
    std::vector<Profile> out;
    std::vector<std::string> seen_keys;  // of the current profile
    int lineno = 0;
    while (!text.empty()) {
        ++lineno;
        auto nl = text.find('\n');
        std::string_view raw = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        std::string_view line = trim(strip_comment(raw));
        if (line.empty()) continue;
        if (line.front() == '[') {
            if (line.back() != ']') return at(file, lineno, "expected [profile]");
            std::string name(trim(line.substr(1, line.size() - 2)));
            if (name.empty()) return at(file, lineno, "empty profile name");
            for (const auto& p : out)
                if (p.name == name) return at(file, lineno, "profile [" + name + "] repeated");
            out.push_back(Profile{name, "", "", "", ""});
            seen_keys.clear();
            continue;
        }
        auto eq = line.find('=');
        if (eq == std::string_view::npos) return at(file, lineno, "expected key = value");
        std::string key(trim(line.substr(0, eq)));
        std::string value(trim(line.substr(eq + 1)));
        if (out.empty()) return at(file, lineno, "\"" + key + "\" before any [profile]");
        Profile& p = out.back();
        std::string* slot = key == "url"           ? &p.url
                            : key == "ca"          ? &p.ca
                            : key == "token"       ? &p.token
                            : key == "totp_secret" ? &p.totp_secret
                                                   : nullptr;
        // Keys the CLI does not use (the demo file's "role", later additions) are
        // information for people; a typo of a used key still shows as that key missing.
        if (slot == nullptr) continue;
        for (const auto& k : seen_keys)
            if (k == key) return at(file, lineno, "\"" + key + "\" repeated in [" + p.name + "]");
        seen_keys.push_back(key);
        while (!value.empty() && value.back() == '/' && slot == &p.url) value.pop_back();
        *slot = std::move(value);
    }
    return out;
}

Result<std::vector<Profile>> load_credentials(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(Errc::kNotFound, "cannot read credentials file " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return make_error(Errc::kIo, "cannot read credentials file " + path);
    return parse_credentials(ss.str(), path);
}

CredentialsEnv CredentialsEnv::from_process() {
    CredentialsEnv e;
    if (const char* v = std::getenv("MOAT_CREDENTIALS")) e.moat_credentials = v;
    if (const char* v = std::getenv("MOAT_TOKEN")) e.moat_token = v;
    std::error_code ec;
    e.demo_file_exists = std::filesystem::is_regular_file(e.demo_file, ec);
    return e;
}

std::string credentials_path(const ConnectionFlags& flags, const CredentialsEnv& env) {
    if (!flags.credentials.empty()) return flags.credentials;
    if (!env.moat_credentials.empty()) return env.moat_credentials;
    if (env.demo_file_exists) return env.demo_file;
    return "";
}

Result<Profile> resolve_profile(const ConnectionFlags& flags, const CredentialsEnv& env) {
    Profile p;
    std::string path = credentials_path(flags, env);
    if (!path.empty()) {
        auto all = load_credentials(path);
        if (!all) return all.error();
        if (!flags.profile.empty()) {
            bool found = false;
            for (const auto& q : *all) {
                if (q.name == flags.profile) {
                    p = q;
                    found = true;
                }
            }
            if (!found)
                return make_error(Errc::kNotFound, "no profile [" + flags.profile + "] in " + path);
        } else if (!all->empty()) {
            p = all->front();
        }
    } else if (!flags.profile.empty()) {
        return make_error(Errc::kInvalidArgument,
                          "--profile " + flags.profile +
                              ": no credentials file (--credentials FILE or $MOAT_CREDENTIALS)");
    }
    if (!flags.url.empty()) {
        p.url = flags.url;
        while (!p.url.empty() && p.url.back() == '/') p.url.pop_back();
    }
    if (!flags.token.empty())
        p.token = flags.token;
    else if (!env.moat_token.empty())
        p.token = env.moat_token;
    if (!flags.ca.empty()) p.ca = flags.ca;
    if (p.url.empty())
        return make_error(Errc::kInvalidArgument,
                          "no admin API URL: give --url, or a credentials file (--credentials, "
                          "$MOAT_CREDENTIALS) with url = ...");
    if (p.token.empty())
        return make_error(Errc::kInvalidArgument,
                          "no token: give --token or $MOAT_TOKEN, or a credentials file with "
                          "token = ...");
    return p;
}

}  // namespace moat::cli

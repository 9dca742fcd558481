#pragma once
// The credentials file of the release commands (docs/admin-api.md "Credentials file"): an INI
// file of profiles, each naming an admin API URL, the CA that signed its certificate, a token
// and, for demos, the TOTP secret. Flags and the environment override what the file says.
// Plain functions, no state; reading the file is the only I/O.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::cli {

struct Profile {
    std::string name;
    std::string url;          // https://host:port (no trailing '/')
    std::string ca;           // PEM file trusted for the admin API's certificate
    std::string token;        // moat_...
    std::string totp_secret;  // base32; optional
};

// Parses the file's text: "[name]" starts a profile, "key = value" lines fill it (keys url,
// ca, token, totp_secret; others, such as the demo file's "role", are ignored), '#' or ';'
// starts a comment at the start of a line or after whitespace. Errors (kInvalidArgument)
// name `file` and the line: a key outside a section, a repeated key, a repeated profile, a
// line that is neither.
Result<std::vector<Profile>> parse_credentials(std::string_view text, std::string_view file);
Result<std::vector<Profile>> load_credentials(const std::string& path);

// What the user gave on the command line; empty strings mean "not given".
struct ConnectionFlags {
    std::string credentials;  // --credentials
    std::string profile;      // --profile
    std::string url, token, ca, otp;
};

// The environment and file system, injectable for tests.
struct CredentialsEnv {
    std::string moat_credentials;  // $MOAT_CREDENTIALS
    std::string moat_token;        // $MOAT_TOKEN
    std::string demo_file = "moat-data/demo-principals";
    bool demo_file_exists = false;
    static CredentialsEnv from_process();  // reads getenv and the working directory
};

// The credentials file to read: --credentials, else $MOAT_CREDENTIALS, else the demo file
// when it exists, else "" (no file).
std::string credentials_path(const ConnectionFlags& flags, const CredentialsEnv& env);

// The profile to use: the named one (--profile; kNotFound when the file lacks it) or the
// file's first, then --url, --token (or $MOAT_TOKEN), --ca on top. kInvalidArgument when no
// URL or no token results, saying which flag gives it.
Result<Profile> resolve_profile(const ConnectionFlags& flags, const CredentialsEnv& env);

}  // namespace moat::cli

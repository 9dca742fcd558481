#pragma once
// Content-Security-Policy parsing and the findings header scanners derive from it
// (CSP Level 3 §2.2 serialized policy grammar; the unsafe-source rules follow the MDN HTTP
// Observatory's CSP analyzer, reference/tls.md §2.2). Pure functions; no I/O.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace moat::audit {

// One parsed policy: directive name (lower-case) -> its source expressions (keywords and
// schemes lower-case; hosts, nonces and hashes as written).
struct CspPolicy {
    std::map<std::string, std::vector<std::string>> directives;
    std::vector<std::string> duplicates;  // directives given twice: the first one counts (§2.2.1)
    bool empty() const { return directives.empty(); }
    bool has(const std::string& name) const { return directives.count(name) != 0; }
    // The sources that govern `name`: its own list, else default-src's when `name` falls back
    // to it (CSP3 §6.8.3), else nullptr (unrestricted).
    const std::vector<std::string>* effective(const std::string& name) const;
};

// CSP3 §2.2.1 "parse a serialized CSP": split on ';', the first token is the name, the rest
// are sources. Never fails: an empty or garbage string gives a policy without directives.
CspPolicy parse_csp(std::string_view header);

// What the policy allows, as a scanner reports it.
struct CspFindings {
    bool valid = true;                    // false: no directives, or 'strict-dynamic' without a
                                          // nonce/hash (the Observatory calls that invalid)
    bool unsafe_inline_script = false;    // 'unsafe-inline' in script sources, no nonce/hash
    bool unsafe_eval = false;             // 'unsafe-eval' in script sources
    bool data_in_script = false;          // data: in script sources
    bool broad_script = false;            // *, https:, http: in script sources
    bool script_unrestricted = false;     // neither script-src nor default-src
    bool broad_object = false;            // *, https:, http: in object sources
    bool object_unrestricted = false;     // neither object-src nor default-src
    bool insecure_active = false;         // http: (or http://host) for scripts, styles, frames...
    bool insecure_passive = false;        // http: for images and media only
    bool unsafe_inline_style = false;     // 'unsafe-inline' in style sources
    bool default_none = false;            // default-src 'none'
    bool frame_ancestors = false;         // frame-ancestors present (clickjacking protection)
    bool base_uri = false;                // base-uri present
    bool form_action_restricted = false;  // form-action 'none' or 'self'
    bool form_action = false;             // form-action present
    std::vector<std::string> deprecated;  // directives removed from CSP (prefetch-src, ...)
    std::vector<std::string> duplicates;

    // Any of the script/object problems the Observatory scores -20.
    bool unsafe() const {
        return unsafe_inline_script || data_in_script || broad_script || script_unrestricted ||
               broad_object || object_unrestricted || insecure_active;
    }
    // Human-readable warnings, one per problem, for reports and `config check`.
    std::vector<std::string> warnings() const;
};

CspFindings analyze_csp(const CspPolicy& policy);

}  // namespace moat::audit

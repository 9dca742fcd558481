// The store part's subcommands. They open the store folder directly (<data_dir>/store, or
// [store] dir from --config); scrub and keys work beside a running server, rotate-key refuses
// while one holds the store.
//   moat store scrub        re-hash every blob; exit 1 when anything is damaged or missing
//   moat store rotate-key   new master key; data keys and secrets re-sealed, data untouched
//   moat keys create --principal NAME --grant bucket[/prefix]:rwl ...   (prints the secret once)
//   moat keys list | moat keys delete ID
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "config/config.h"
#include "store/store.h"

namespace moat::cli {
namespace {

struct StoreOptions {
    std::string config_path;
    std::string data_dir;
};

void add_location(CLI::App* app, StoreOptions& o) {
    app->add_option("--config,-c", o.config_path, "moat.toml (finds the store's folder and key)");
    app->add_option("--data", o.data_dir, "Data folder (default ./moat-data); store in DIR/store");
}

// 0 and the store, or an exit code. `must_exist`: refuse to create a store (a mistyped --data
// would otherwise scrub, or rotate the key of, a brand-new empty store).
std::pair<int, std::unique_ptr<store::Store>> open_store(const StoreOptions& o,
                                                         bool must_exist = true) {
    store::StoreSettings s;
    if (!o.config_path.empty()) {
        auto lr = config::load_file(o.config_path);
        if (!lr.config) {
            for (const auto& d : lr.diagnostics)
                std::fprintf(stderr, "%s\n", d.to_string().c_str());
            return {2, nullptr};
        }
        s = lr.config->store;
    }
    if (!o.data_dir.empty() || s.dir.empty())
        s.dir = (o.data_dir.empty() ? std::string("moat-data") : o.data_dir) + "/store";
    s.enabled = true;
    std::error_code ec;
    if (must_exist && !std::filesystem::exists(s.dir + "/meta.db", ec)) {
        std::fprintf(stderr, "moat: no store in %s (wrong --data or --config?)\n", s.dir.c_str());
        return {1, nullptr};
    }
    auto st = store::Store::open(s);
    if (!st) {
        std::fprintf(stderr, "moat: cannot open the store in %s: %s\n", s.dir.c_str(),
                     st.error().detail.c_str());
        return {1, nullptr};
    }
    return {0, std::move(*st)};
}

std::string when(store::Clock::time_point t) {
    std::time_t tt = store::Clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// "bucket[/prefix]:rwl" -> Grant.
Result<store::Grant> parse_grant(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return make_error(Errc::kInvalidArgument,
                          "grant \"" + text + "\": expected bucket[/prefix]:rwl");
    store::Grant g;
    std::string where = text.substr(0, colon);
    auto slash = where.find('/');
    g.bucket = where.substr(0, slash);
    if (slash != std::string::npos) g.prefix = where.substr(slash + 1);
    for (char c : text.substr(colon + 1)) {
        if (c == 'r')
            g.read = true;
        else if (c == 'w')
            g.write = true;
        else if (c == 'l')
            g.list = true;
        else
            return make_error(Errc::kInvalidArgument,
                              "grant \"" + text + "\": permissions are letters of \"rwl\"");
    }
    return g;
}

std::string grant_text(const store::Grant& g) {
    std::string s = g.bucket;
    if (!g.prefix.empty()) s += "/" + g.prefix;
    s += ":";
    if (g.read) s += "r";
    if (g.write) s += "w";
    if (g.list) s += "l";
    return s;
}

int run_scrub(const StoreOptions& o) {
    auto [rc, st] = open_store(o);
    if (!st) return rc;
    auto rep = st->scrub();
    if (!rep) {
        std::fprintf(stderr, "moat store scrub: %s\n", rep.error().detail.c_str());
        return 1;
    }
    for (const auto& d : rep->damaged) std::printf("damaged %s\n", d.c_str());
    for (const auto& m : rep->missing) std::printf("missing %s\n", m.c_str());
    std::printf("scrubbed %llu blobs, %llu bytes: %zu damaged, %zu missing\n",
                static_cast<unsigned long long>(rep->blobs),
                static_cast<unsigned long long>(rep->bytes), rep->damaged.size(),
                rep->missing.size());
    return rep->damaged.empty() && rep->missing.empty() ? 0 : 1;
}

int run_rotate(const StoreOptions& o) {
    auto [rc, st] = open_store(o);
    if (!st) return rc;
    auto n = st->rotate_master_key();
    if (!n) {
        std::fprintf(stderr, "moat store rotate-key: %s\n", n.error().detail.c_str());
        return 1;
    }
    std::printf("new master key in use; %llu data keys re-sealed (data not rewritten)\n",
                static_cast<unsigned long long>(*n));
    return 0;
}

struct KeyCreateOptions {
    std::string principal;
    std::vector<std::string> grants;
};

int run_key_create(const StoreOptions& o, const KeyCreateOptions& k) {
    std::vector<store::Grant> grants;
    for (const auto& g : k.grants) {
        auto p = parse_grant(g);
        if (!p) {
            std::fprintf(stderr, "moat keys create: %s\n", p.error().detail.c_str());
            return 2;
        }
        grants.push_back(*p);
    }
    auto [rc, st] = open_store(o, false);  // a key may be made before the first start
    if (!st) return rc;
    auto rec = st->create_key(k.principal, grants);
    if (!rec) {
        std::fprintf(stderr, "moat keys create: %s\n", rec.error().detail.c_str());
        return rec.error().code == Errc::kInvalidArgument ? 2 : 1;
    }
    // The only time the secret is shown: it is stored sealed and never printed again.
    std::printf("access_key_id     %s\nsecret_access_key %s\n", rec->access_key_id.c_str(),
                rec->secret.c_str());
    return 0;
}

int run_key_list(const StoreOptions& o) {
    auto [rc, st] = open_store(o);
    if (!st) return rc;
    auto all = st->keys();
    if (!all) {
        std::fprintf(stderr, "moat keys list: %s\n", all.error().detail.c_str());
        return 1;
    }
    for (const auto& k : *all) {
        std::string grants;
        for (const auto& g : k.grants) grants += (grants.empty() ? "" : " ") + grant_text(g);
        std::printf("%s  %s  %s  %s\n", k.access_key_id.c_str(), when(k.created).c_str(),
                    k.principal.c_str(), grants.c_str());
    }
    return 0;
}

int run_key_delete(const StoreOptions& o, const std::string& id) {
    auto [rc, st] = open_store(o);
    if (!st) return rc;
    if (auto r = st->delete_key(id); !r) {
        std::fprintf(stderr, "moat keys delete: %s\n", r.error().detail.c_str());
        return 1;
    }
    std::printf("deleted %s\n", id.c_str());
    return 0;
}

}  // namespace

void add_store_commands(CLI::App& root, Commands& out) {
    auto* storecmd = root.add_subcommand("store", "Maintain the object store");
    storecmd->require_subcommand(1);
    auto so = std::make_shared<StoreOptions>();
    auto* scrub = storecmd->add_subcommand("scrub", "Re-hash every blob and report damage");
    add_location(scrub, *so);
    out.push_back({scrub, [so] { return run_scrub(*so); }});
    auto* rotate =
        storecmd->add_subcommand("rotate-key", "New master key; re-seal data keys and secrets");
    add_location(rotate, *so);
    out.push_back({rotate, [so] { return run_rotate(*so); }});

    auto* keys = root.add_subcommand("keys", "S3 access keys");
    keys->require_subcommand(1);
    auto ko = std::make_shared<StoreOptions>();
    auto kc = std::make_shared<KeyCreateOptions>();
    auto* create = keys->add_subcommand("create", "Create an access key (prints the secret once)");
    add_location(create, *ko);
    create->add_option("--principal", kc->principal, "Who uses the key")->required();
    create->add_option("--grant", kc->grants, "bucket[/prefix]:rwl (repeatable; bucket * = all)")
        ->required();
    out.push_back({create, [ko, kc] { return run_key_create(*ko, *kc); }});
    auto* list = keys->add_subcommand("list", "List access keys (never their secrets)");
    add_location(list, *ko);
    out.push_back({list, [ko] { return run_key_list(*ko); }});
    auto id = std::make_shared<std::string>();
    auto* del = keys->add_subcommand("delete", "Delete an access key");
    add_location(del, *ko);
    del->add_option("id", *id, "Access key id")->required();
    out.push_back({del, [ko, id] { return run_key_delete(*ko, *id); }});
}

}  // namespace moat::cli

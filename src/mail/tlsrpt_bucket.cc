#include "mail/tlsrpt_bucket.h"

#include <algorithm>
#include <cstring>

#include "mail/grammar.h"
#include "store/memory_body.h"

namespace moat::mail {
namespace {

// The whole latest version of `key`; reports are bounded by tlsrpt_max_inflated (10 MB).
Result<std::string> read_all(store::Store& st, std::string_view bucket, std::string_view key) {
    auto reader = st.open_object(bucket, key);
    if (!reader) return reader.error();
    std::string out((*reader)->info().size, '\0');
    std::uint64_t off = 0;
    while (off < out.size()) {
        auto n = (*reader)->read_at(off, out.data() + off, out.size() - off);
        if (!n) return n.error();
        if (*n == 0) break;  // shorter than its metadata said: parse what there is
        off += *n;
    }
    out.resize(off);
    return out;
}

}  // namespace

std::string TlsRptBucket::key_for(const std::string& domain, const TlsRptReport& report) {
    return "TLSRPT/" + domain + "/" + tlsrpt_day(report) + "/" + tlsrpt_report_hash(report) +
           ".json";
}

Result<TlsRptSink::Added> TlsRptBucket::add(const TlsRptReport& report, std::string_view json,
                                            const std::vector<std::string>& domains) {
    bool any_new = false;
    for (const auto& d : domains) {
        if (!grammar::domain_error(d).empty())
            return make_error(Errc::kInvalidArgument, "bad domain " + d);
        store::PutOptions opts;
        opts.attrs.content_type = std::string(kContentType);
        opts.if_none_match_any = true;
        opts.expected_size = json.size();
        store::MemoryBody body(json);
        auto put = store_.put(bucket_, key_for(d, report), body, opts);
        if (put) {
            any_new = true;
            continue;
        }
        if (store::reason_of(put.error()) != store::Reason::kPreconditionFailed)
            return make_error(put.error().code, "put " + bucket_ + "/" + key_for(d, report) + ": " +
                                                    put.error().detail);
    }
    return any_new ? Added::kNew : Added::kDuplicate;
}

Result<TlsRptSummary> TlsRptBucket::summarize(const std::string& domain) const {
    if (!grammar::domain_error(domain).empty())
        return make_error(Errc::kInvalidArgument, "\"" + domain + "\" is not a domain");
    TlsRptSummary s;
    s.domain = domain;
    store::ListQuery q;
    q.prefix = "TLSRPT/" + domain + "/";
    for (;;) {
        auto page = store_.list(bucket_, q);
        if (!page) return page.error();
        for (const auto& o : page->objects) {
            if (o.key.size() < 5 || o.key.compare(o.key.size() - 5, 5, ".json") != 0) continue;
            auto text = read_all(store_, bucket_, o.key);
            // Gone between the listing and the read (lifecycle expiry): not a report any more.
            if (!text && text.error().code == Errc::kNotFound) continue;
            if (!text) return text.error();
            auto r = parse_tlsrpt(*text);
            if (!r) {
                ++s.unreadable;
                continue;
            }
            add_to_summary(s, *r);
        }
        if (!page->truncated) break;
        q.after = page->next_after;
    }
    return s;
}

}  // namespace moat::mail

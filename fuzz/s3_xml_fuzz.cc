// libFuzzer target for the S3 API's own XML parser (s3/xml.cc: the request documents of
// lifecycle, versioning, Delete, CompleteMultipartUpload) and the lifecycle document on top.
// Besides memory errors it checks, and aborts when one breaks:
// - the limits hold: no tree deeper or larger than XmlLimits allows, nothing parsed from a
//   document with a declaration (DOCTYPE, ENTITY: no XXE, no entity expansion);
// - a parsed tree written back with XmlWriter parses to the same tree (names, leaf texts,
//   shape), so what the parser keeps is what the writer can say;
// - a lifecycle configuration that parses renders to a document that parses to the same rules
//   and renders the same again.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "s3/lifecycle_xml.h"
#include "s3/xml.h"

namespace {

using moat::s3::XmlNode;

constexpr moat::s3::XmlLimits kLimits{64 * 1024, 8, 500};

void measure(const XmlNode& n, int depth, int& max_depth, std::size_t& count) {
    max_depth = std::max(max_depth, depth);
    ++count;
    for (const auto& c : n.children) measure(c, depth + 1, max_depth, count);
}

void write(moat::s3::XmlWriter& w, const XmlNode& n) {
    if (n.children.empty()) {
        w.leaf(n.name, n.text);
        return;
    }
    w.open(n.name);  // mixed content's text is not written (S3 documents have none)
    for (const auto& c : n.children) write(w, c);
    w.close();
}

bool same(const XmlNode& a, const XmlNode& b) {
    if (a.name != b.name || a.children.size() != b.children.size()) return false;
    if (a.children.empty()) return a.text == b.text;
    for (std::size_t i = 0; i < a.children.size(); ++i)
        if (!same(a.children[i], b.children[i])) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view doc(reinterpret_cast<const char*>(data), size);
    auto tree = moat::s3::parse_xml(doc, kLimits);
    if (tree) {
        int depth = 0;
        std::size_t count = 0;
        measure(*tree, 1, depth, count);
        FUZZ_CHECK(depth <= kLimits.max_depth);
        FUZZ_CHECK(count <= kLimits.max_elements);
        // Outside CDATA and comments (where it is text), "<!" can only be a declaration: with
        // neither in the document, one that parsed has none (no DTD, no entities, no XXE).
        if (doc.find("<![CDATA[") == std::string_view::npos &&
            doc.find("<!--") == std::string_view::npos)
            FUZZ_CHECK(doc.find("<!") == std::string_view::npos);
        moat::s3::XmlWriter w;
        write(w, *tree);
        std::string again = w.take();
        auto back = moat::s3::parse_xml(again, {1 << 24, kLimits.max_depth, kLimits.max_elements});
        FUZZ_CHECK(back);
        FUZZ_CHECK(same(*tree, *back));
    }
    auto rules = moat::s3::parse_lifecycle(doc);
    if (rules) {
        std::string rendered = moat::s3::render_lifecycle(*rules);
        auto reparsed = moat::s3::parse_lifecycle(rendered);
        FUZZ_CHECK(reparsed);
        FUZZ_CHECK(reparsed->size() == rules->size());
        FUZZ_CHECK(moat::s3::render_lifecycle(*reparsed) == rendered);
    }
    return 0;
}

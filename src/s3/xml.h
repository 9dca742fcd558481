#pragma once
// The XML of the S3 API: a small strict parser for the few request documents (lifecycle,
// versioning, Delete, CompleteMultipartUpload, CreateBucketConfiguration) and a writer for the
// responses. The parser accepts elements, attributes (ignored), character and the five
// predefined entity references, CDATA, comments and one XML declaration; it refuses DOCTYPE,
// any other entity and processing instructions, so XXE and entity expansion cannot happen.
// Pure functions, no I/O; any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::s3 {

struct XmlNode {
    std::string name;  // local name: a "ns:" prefix is dropped
    std::string text;  // character data directly inside (leaf elements)
    std::vector<XmlNode> children;

    // The first child with this name, or null.
    const XmlNode* child(std::string_view n) const;
    // The text of the first child with this name, or `def` when absent.
    std::string_view child_text(std::string_view n, std::string_view def = {}) const;
    std::size_t count(std::string_view n) const;
};

struct XmlLimits {
    std::size_t max_bytes = 1 << 20;  // 1 MiB
    int max_depth = 16;
    std::size_t max_elements = 20000;  // 1000 rules or Delete entries, with room to spare
};

// Parses one document. Errors: s3 MalformedXML (reason Code::kMalformedXML) naming the first
// problem and its byte offset.
Result<XmlNode> parse_xml(std::string_view doc, const XmlLimits& limits = {});

// Appends escaped XML text: & < > " ' and control characters (as character references, which
// S3 also emits for keys holding them).
void xml_escape(std::string& out, std::string_view text);

// Builds a response document with the XML declaration. Not thread-safe; one per response.
class XmlWriter {
public:
    XmlWriter();
    // <name> or <name xmlns="...">.
    void open(std::string_view name, std::string_view xmlns = {});
    void close();
    void leaf(std::string_view name, std::string_view text);
    void empty(std::string_view name);  // <name/>
    std::string take();

private:
    std::string out_;
    std::vector<std::string> stack_;
};

constexpr std::string_view kS3Xmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

}  // namespace moat::s3

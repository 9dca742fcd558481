#include "s3/xml.h"

#include <fmt/format.h>

#include "s3/errors.h"

namespace moat::s3 {
namespace {

bool is_name_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || c >= 0x80;
}
bool is_name_char(unsigned char c) {
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void append_utf8(std::string& out, unsigned long cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Parser {
public:
    Parser(std::string_view doc, const XmlLimits& limits) : s_(doc), lim_(limits) {}

    Result<XmlNode> document() {
        if (s_.size() > lim_.max_bytes)
            return fail(fmt::format("document over {} bytes", lim_.max_bytes));
        if (s_.find('\0') != std::string_view::npos) return fail("NUL byte");
        if (s_.substr(0, 3) == "\xEF\xBB\xBF") p_ = 3;  // UTF-8 byte order mark
        if (s_.substr(p_, 5) == "<?xml") {
            auto end = s_.find("?>", p_);
            if (end == std::string_view::npos) return fail("unterminated XML declaration");
            // XML 1.0 §2.8: version, encoding and standalone pseudo-attributes, nothing else
            // (not skipped blindly: markup hidden in it would pass unseen).
            std::string_view decl = s_.substr(p_ + 5, end - p_ - 5);
            if (decl.empty() || !is_space(decl[0])) return fail("bad XML declaration");
            for (char c : decl)
                if (!is_space(c) && !is_name_char(static_cast<unsigned char>(c)) && c != '=' &&
                    c != '"' && c != '\'')
                    return fail("bad XML declaration");
            p_ = end + 2;
        }
        if (auto r = misc(); !r) return r.error();
        if (p_ >= s_.size() || s_[p_] != '<') return fail("expected the root element");
        XmlNode root;
        if (auto r = element(root, 1); !r) return r.error();
        if (auto r = misc(); !r) return r.error();
        if (p_ != s_.size()) return fail("content after the root element");
        return root;
    }

private:
    Error fail(std::string why) const {
        return s3_error(Code::kMalformedXML,
                        fmt::format("The XML you provided was not well-formed or did not "
                                    "validate against our published schema ({} at byte {})",
                                    why, p_));
    }

    // Whitespace and comments between markup; DOCTYPE and processing instructions refused.
    Result<void> misc() {
        for (;;) {
            while (p_ < s_.size() && is_space(s_[p_])) ++p_;
            if (s_.substr(p_, 4) == "<!--") {
                MOAT_TRY(comment());
                continue;
            }
            if (s_.substr(p_, 2) == "<!") return fail("DOCTYPE and declarations are not allowed");
            if (s_.substr(p_, 2) == "<?") return fail("processing instructions are not allowed");
            return {};
        }
    }

    Result<void> comment() {
        auto end = s_.find("-->", p_ + 4);
        if (end == std::string_view::npos) return fail("unterminated comment");
        p_ = end + 3;
        return {};
    }

    Result<std::string> name() {
        std::size_t start = p_;
        if (p_ >= s_.size() || !is_name_start(static_cast<unsigned char>(s_[p_])))
            return fail("expected a name");
        while (p_ < s_.size() && is_name_char(static_cast<unsigned char>(s_[p_]))) ++p_;
        return std::string(s_.substr(start, p_ - start));
    }

    static std::string local(const std::string& qname) {
        auto colon = qname.rfind(':');
        return colon == std::string::npos ? qname : qname.substr(colon + 1);
    }

    // A reference after '&': the five predefined entities and character references only.
    Result<void> reference(std::string& out) {
        auto semi = s_.find(';', p_);
        if (semi == std::string_view::npos || semi - p_ > 12) return fail("bad reference");
        std::string_view ref = s_.substr(p_ + 1, semi - p_ - 1);
        if (ref == "lt")
            out += '<';
        else if (ref == "gt")
            out += '>';
        else if (ref == "amp")
            out += '&';
        else if (ref == "quot")
            out += '"';
        else if (ref == "apos")
            out += '\'';
        else if (ref.size() >= 2 && ref[0] == '#') {
            bool hex = ref[1] == 'x';
            std::string_view digits = ref.substr(hex ? 2 : 1);
            if (digits.empty()) return fail("bad character reference");
            unsigned long cp = 0;
            for (char c : digits) {
                int d = -1;
                if (c >= '0' && c <= '9')
                    d = c - '0';
                else if (hex && c >= 'a' && c <= 'f')
                    d = c - 'a' + 10;
                else if (hex && c >= 'A' && c <= 'F')
                    d = c - 'A' + 10;
                if (d < 0) return fail("bad character reference");
                cp = cp * (hex ? 16 : 10) + static_cast<unsigned long>(d);
                if (cp > 0x10FFFF) return fail("character reference out of range");
            }
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                return fail("character reference out of range");
            append_utf8(out, cp);
        } else {
            return fail("undefined entity");  // no DTD, so no other entity exists
        }
        p_ = semi + 1;
        return {};
    }

    Result<void> attributes(bool& self_closing) {
        for (;;) {
            while (p_ < s_.size() && is_space(s_[p_])) ++p_;
            if (p_ >= s_.size()) return fail("unterminated start tag");
            if (s_[p_] == '>') {
                ++p_;
                self_closing = false;
                return {};
            }
            if (s_.substr(p_, 2) == "/>") {
                p_ += 2;
                self_closing = true;
                return {};
            }
            auto n = name();
            if (!n) return n.error();
            while (p_ < s_.size() && is_space(s_[p_])) ++p_;
            if (p_ >= s_.size() || s_[p_] != '=') return fail("expected '='");
            ++p_;
            while (p_ < s_.size() && is_space(s_[p_])) ++p_;
            if (p_ >= s_.size() || (s_[p_] != '"' && s_[p_] != '\'')) return fail("expected quote");
            char q = s_[p_++];
            std::string ignored;
            while (p_ < s_.size() && s_[p_] != q) {
                if (s_[p_] == '<') return fail("'<' in attribute value");
                if (s_[p_] == '&') {
                    MOAT_TRY(reference(ignored));
                } else {
                    ++p_;
                }
            }
            if (p_ >= s_.size()) return fail("unterminated attribute value");
            ++p_;
        }
    }

    Result<void> element(XmlNode& node, int depth) {
        if (depth > lim_.max_depth) return fail("nesting too deep");
        if (++elements_ > lim_.max_elements) return fail("too many elements");
        ++p_;  // '<'
        auto qname = name();
        if (!qname) return qname.error();
        // Namespaces in XML §4: a QName is [prefix ':'] local part, each a name without a colon
        // (an empty local part, or one starting with a digit, would make an element no writer
        // can write back).
        if (auto colon = qname->find(':'); colon != std::string::npos) {
            bool ok = colon > 0 && colon + 1 < qname->size() &&
                      qname->find(':', colon + 1) == std::string::npos &&
                      is_name_start(static_cast<unsigned char>((*qname)[colon + 1]));
            if (!ok) return fail("bad qualified name <" + *qname + ">");
        }
        node.name = local(*qname);
        bool self_closing = false;
        MOAT_TRY(attributes(self_closing));
        if (self_closing) return {};
        for (;;) {
            if (p_ >= s_.size()) return fail("unterminated element <" + *qname + ">");
            char c = s_[p_];
            if (c == '&') {
                MOAT_TRY(reference(node.text));
            } else if (c != '<') {
                node.text += c;
                ++p_;
            } else if (s_.substr(p_, 4) == "<!--") {
                MOAT_TRY(comment());
            } else if (s_.substr(p_, 9) == "<![CDATA[") {
                auto end = s_.find("]]>", p_ + 9);
                if (end == std::string_view::npos) return fail("unterminated CDATA");
                node.text.append(s_.substr(p_ + 9, end - p_ - 9));
                p_ = end + 3;
            } else if (s_.substr(p_, 2) == "</") {
                p_ += 2;
                auto close = name();
                if (!close) return close.error();
                if (*close != *qname) return fail("</" + *close + "> closes <" + *qname + ">");
                while (p_ < s_.size() && is_space(s_[p_])) ++p_;
                if (p_ >= s_.size() || s_[p_] != '>') return fail("bad end tag");
                ++p_;
                // Whitespace around child elements is layout, not content.
                if (!node.children.empty()) {
                    bool blank = true;
                    for (char t : node.text) blank = blank && is_space(t);
                    if (blank) node.text.clear();
                }
                return {};
            } else if (s_.substr(p_, 2) == "<!" || s_.substr(p_, 2) == "<?") {
                return fail("declarations and processing instructions are not allowed");
            } else {
                node.children.emplace_back();
                MOAT_TRY(element(node.children.back(), depth + 1));
            }
        }
    }

    std::string_view s_;
    const XmlLimits& lim_;
    std::size_t p_ = 0;
    std::size_t elements_ = 0;
};

}  // namespace

const XmlNode* XmlNode::child(std::string_view n) const {
    for (const auto& c : children)
        if (c.name == n) return &c;
    return nullptr;
}

std::string_view XmlNode::child_text(std::string_view n, std::string_view def) const {
    const XmlNode* c = child(n);
    return c ? std::string_view(c->text) : def;
}

std::size_t XmlNode::count(std::string_view n) const {
    std::size_t k = 0;
    for (const auto& c : children) k += c.name == n;
    return k;
}

Result<XmlNode> parse_xml(std::string_view doc, const XmlLimits& limits) {
    return Parser(doc, limits).document();
}

void xml_escape(std::string& out, std::string_view text) {
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                if (c < 0x20 || c == 0x7f)
                    out += fmt::format("&#x{:X};", c);
                else
                    out += ch;
        }
    }
}

XmlWriter::XmlWriter() { out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"; }

void XmlWriter::open(std::string_view name, std::string_view xmlns) {
    out_ += '<';
    out_ += name;
    if (!xmlns.empty()) {
        out_ += " xmlns=\"";
        xml_escape(out_, xmlns);
        out_ += '"';
    }
    out_ += '>';
    stack_.emplace_back(name);
}

void XmlWriter::close() {
    out_ += "</";
    out_ += stack_.back();
    out_ += '>';
    stack_.pop_back();
}

void XmlWriter::leaf(std::string_view name, std::string_view text) {
    out_ += '<';
    out_ += name;
    out_ += '>';
    xml_escape(out_, text);
    out_ += "</";
    out_ += name;
    out_ += '>';
}

void XmlWriter::empty(std::string_view name) {
    out_ += '<';
    out_ += name;
    out_ += "/>";
}

std::string XmlWriter::take() {
    while (!stack_.empty()) close();
    return std::move(out_);
}

}  // namespace moat::s3

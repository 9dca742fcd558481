#include "content/mime.h"

#include <algorithm>
#include <array>
#include <cstddef>

namespace moat::content {
namespace {

struct MimeEntry {
    std::string_view ext;   // lower case, without the dot
    std::string_view type;  // full Content-Type value
};

// Charset policy:
// - text/* gets "; charset=utf-8": RFC 2046 §4.1.2 makes US-ASCII the default for text/*
//   without a charset, and browsers fall back to a locale encoding, so UTF-8 sites would break.
// - JavaScript is text/javascript (RFC 9239 §6 obsoletes application/javascript) and so gets the
//   charset like any text type.
// - application/json and the +json types get none: RFC 8259 §11 defines no charset parameter
//   ("adding one really has no effect on compliant recipients"); JSON is UTF-8 by §8.1.
// - XML types (application/xml, +xml, image/svg+xml) get none: the XML declaration or the BOM
//   carries the encoding (RFC 7303 §3), and a wrong parameter would override a correct one.
//
// Sorted by ext (checked at compile time below) so lookup is a binary search with no hashing
// and no allocation.
constexpr auto kTable = std::to_array<MimeEntry>({
    {"3gp", "video/3gpp"},
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/aac"},
    {"aif", "audio/aiff"},
    {"aiff", "audio/aiff"},
    {"apk", "application/vnd.android.package-archive"},
    {"apng", "image/apng"},
    {"appcache", "text/cache-manifest; charset=utf-8"},
    {"asc", "application/pgp-signature"},
    {"atom", "application/atom+xml"},
    {"avi", "video/x-msvideo"},
    {"avif", "image/avif"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/bmp"},
    {"br", "application/x-brotli"},
    {"bz2", "application/x-bzip2"},
    {"cjs", "text/javascript; charset=utf-8"},
    {"conf", "text/plain; charset=utf-8"},
    {"crt", "application/x-x509-ca-cert"},
    {"css", "text/css; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"deb", "application/vnd.debian.binary-package"},
    {"der", "application/x-x509-ca-cert"},
    {"diff", "text/x-diff; charset=utf-8"},
    {"dmg", "application/x-apple-diskimage"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"eot", "application/vnd.ms-fontobject"},
    {"eps", "application/postscript"},
    {"epub", "application/epub+zip"},
    {"flac", "audio/flac"},
    {"flv", "video/x-flv"},
    {"geojson", "application/geo+json"},
    {"gif", "image/gif"},
    {"glb", "model/gltf-binary"},
    {"gltf", "model/gltf+json"},
    {"gpx", "application/gpx+xml"},
    {"gz", "application/gzip"},
    {"heic", "image/heic"},
    {"heif", "image/heif"},
    {"htm", "text/html; charset=utf-8"},
    {"html", "text/html; charset=utf-8"},
    {"ico", "image/x-icon"},
    {"ics", "text/calendar; charset=utf-8"},
    {"ini", "text/plain; charset=utf-8"},
    {"iso", "application/x-iso9660-image"},
    {"jar", "application/java-archive"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"jxl", "image/jxl"},
    {"kml", "application/vnd.google-earth.kml+xml"},
    {"kmz", "application/vnd.google-earth.kmz"},
    {"log", "text/plain; charset=utf-8"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m4a", "audio/mp4"},
    {"m4v", "video/mp4"},
    {"map", "application/json"},
    {"markdown", "text/markdown; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"mid", "audio/midi"},
    {"midi", "audio/midi"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"mpd", "application/dash+xml"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"msi", "application/x-msdownload"},
    {"ndjson", "application/x-ndjson"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"ogx", "application/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"patch", "text/x-diff; charset=utf-8"},
    {"pdf", "application/pdf"},
    {"pem", "application/x-x509-ca-cert"},
    {"png", "image/png"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"ps", "application/postscript"},
    {"rar", "application/vnd.rar"},
    {"rdf", "application/rdf+xml"},
    {"rpm", "application/x-rpm"},
    {"rss", "application/rss+xml"},
    {"rtf", "application/rtf"},
    {"sh", "text/x-shellscript; charset=utf-8"},
    {"shtml", "text/html; charset=utf-8"},
    {"sig", "application/pgp-signature"},
    {"sql", "application/sql"},
    {"srt", "application/x-subrip"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"tgz", "application/gzip"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "application/toml"},
    {"ts", "video/mp2t"},
    {"tsv", "text/tab-separated-values; charset=utf-8"},
    {"ttc", "font/collection"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain; charset=utf-8"},
    {"vcard", "text/vcard; charset=utf-8"},
    {"vcf", "text/vcard; charset=utf-8"},
    {"vtt", "text/vtt; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"weba", "audio/webm"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"wmv", "video/x-ms-wmv"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xht", "application/xhtml+xml"},
    {"xhtml", "application/xhtml+xml"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "application/xml"},
    {"xsl", "application/xslt+xml"},
    {"xz", "application/x-xz"},
    {"yaml", "application/yaml"},
    {"yml", "application/yaml"},
    {"zip", "application/zip"},
    {"zst", "application/zstd"},
});

constexpr bool table_sorted() {
    for (std::size_t i = 1; i < kTable.size(); ++i)
        if (!(kTable[i - 1].ext < kTable[i].ext)) return false;
    return true;
}
static_assert(table_sorted(), "kTable must be sorted by extension with no duplicates");

constexpr std::size_t longest_ext() {
    std::size_t n = 0;
    for (const auto& e : kTable) n = std::max(n, e.ext.size());
    return n;
}
constexpr std::size_t kMaxExt = longest_ext();

constexpr std::string_view kOctetStream = "application/octet-stream";

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace

std::string_view content_type_for(std::string_view path) {
    std::size_t slash = path.find_last_of('/');
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    std::size_t dot = name.find_last_of('.');
    if (dot == std::string_view::npos) return kOctetStream;
    std::string_view ext = name.substr(dot + 1);
    if (ext.empty() || ext.size() > kMaxExt) return kOctetStream;
    char buf[kMaxExt];
    for (std::size_t i = 0; i < ext.size(); ++i) buf[i] = lower(ext[i]);
    std::string_view key(buf, ext.size());
    auto it = std::lower_bound(kTable.begin(), kTable.end(), key,
                               [](const MimeEntry& e, std::string_view k) { return e.ext < k; });
    if (it == kTable.end() || it->ext != key) return kOctetStream;
    return it->type;
}

bool is_compressible(std::string_view content_type) {
    std::string_view t = content_type.substr(0, content_type.find(';'));
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (istarts_with(t, "text/")) return true;
    // Structured-syntax suffixes (RFC 6839): anything +json or +xml is text underneath.
    if (iends_with(t, "+json") || iends_with(t, "+xml")) return true;
    static constexpr std::string_view kOthers[] = {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/wasm",
        "application/yaml",
        "application/toml",
        "application/sql",
        "application/rtf",
        "application/postscript",
        "application/x-ndjson",
        "application/x-subrip",
        "application/vnd.apple.mpegurl",
        "application/vnd.ms-fontobject",  // EOT is usually uncompressed TrueType inside
        "font/ttf",                       // TrueType/OpenType are uncompressed; WOFF/WOFF2 are not
        "font/otf",
        "font/collection",
        "image/x-icon",  // ICO and BMP store raw bitmaps
        "image/vnd.microsoft.icon",
        "image/bmp",
    };
    for (std::string_view o : kOthers)
        if (iequals(t, o)) return true;
    return false;
}

}  // namespace moat::content

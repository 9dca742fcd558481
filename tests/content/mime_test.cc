#include "content/mime.h"

#include <gtest/gtest.h>

namespace moat::content {
namespace {

struct TypeCase {
    std::string_view path;
    std::string_view type;
};

TEST(ContentType, MapsExtensions) {
    const TypeCase cases[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"a/b/page.htm", "text/html; charset=utf-8"},
        {"style.css", "text/css; charset=utf-8"},
        {"app.js", "text/javascript; charset=utf-8"},
        {"mod.mjs", "text/javascript; charset=utf-8"},
        {"data.json", "application/json"},
        {"app.js.map", "application/json"},
        {"feed.xml", "application/xml"},
        {"notes.txt", "text/plain; charset=utf-8"},
        {"README.md", "text/markdown; charset=utf-8"},
        {"t.csv", "text/csv; charset=utf-8"},
        {"logo.svg", "image/svg+xml"},
        {"p.png", "image/png"},
        {"p.jpg", "image/jpeg"},
        {"p.jpeg", "image/jpeg"},
        {"p.gif", "image/gif"},
        {"p.webp", "image/webp"},
        {"p.avif", "image/avif"},
        {"favicon.ico", "image/x-icon"},
        {"p.bmp", "image/bmp"},
        {"p.tif", "image/tiff"},
        {"p.tiff", "image/tiff"},
        {"f.woff", "font/woff"},
        {"f.woff2", "font/woff2"},
        {"f.ttf", "font/ttf"},
        {"f.otf", "font/otf"},
        {"f.eot", "application/vnd.ms-fontobject"},
        {"m.wasm", "application/wasm"},
        {"d.pdf", "application/pdf"},
        {"a.zip", "application/zip"},
        {"a.gz", "application/gzip"},
        {"a.br", "application/x-brotli"},
        {"a.zst", "application/zstd"},
        {"a.tar", "application/x-tar"},
        {"v.mp4", "video/mp4"},
        {"v.webm", "video/webm"},
        {"a.ogg", "audio/ogg"},
        {"a.mp3", "audio/mpeg"},
        {"a.wav", "audio/wav"},
        {"a.flac", "audio/flac"},
        {"a.m4a", "audio/mp4"},
        {"v.mov", "video/quicktime"},
        {"site.webmanifest", "application/manifest+json"},
        {"x.appcache", "text/cache-manifest; charset=utf-8"},
        {"cal.ics", "text/calendar; charset=utf-8"},
        {"me.vcf", "text/vcard; charset=utf-8"},
        {"feed.rss", "application/rss+xml"},
        {"feed.atom", "application/atom+xml"},
        {"book.epub", "application/epub+zip"},
        {"ld.jsonld", "application/ld+json"},
        {"c.yaml", "application/yaml"},
        {"c.yml", "application/yaml"},
        {"c.toml", "application/toml"},
        {"install.sh", "text/x-shellscript; charset=utf-8"},
    };
    for (const auto& c : cases) EXPECT_EQ(content_type_for(c.path), c.type) << c.path;
}

TEST(ContentType, IsCaseInsensitive) {
    EXPECT_EQ(content_type_for("INDEX.HTML"), "text/html; charset=utf-8");
    EXPECT_EQ(content_type_for("Photo.JpEg"), "image/jpeg");
    EXPECT_EQ(content_type_for("X.WEBMANIFEST"), "application/manifest+json");
}

TEST(ContentType, UnknownIsOctetStream) {
    for (std::string_view p : {"", "noext", "dir.d/noext", "file.", "x.unknownext",
                               "x.averyveryverylongextension", ".htaccess", "a/b."})
        EXPECT_EQ(content_type_for(p), "application/octet-stream") << p;
}

TEST(ContentType, UsesLastExtensionOfLastSegment) {
    EXPECT_EQ(content_type_for("archive.tar.gz"), "application/gzip");
    EXPECT_EQ(content_type_for("dir.html/file"), "application/octet-stream");
    EXPECT_EQ(content_type_for("app.css.br"), "application/x-brotli");
}

TEST(IsCompressible, TextLikeYesMediaNo) {
    struct Case {
        std::string_view type;
        bool want;
    };
    const Case cases[] = {
        {"text/html; charset=utf-8", true},
        {"text/plain", true},
        {"TEXT/CSS", true},
        {"text/javascript; charset=utf-8", true},
        {"application/json", true},
        {"application/manifest+json", true},
        {"application/ld+json", true},
        {"application/xml", true},
        {"application/rss+xml", true},
        {"image/svg+xml", true},
        {"application/wasm", true},
        {"font/ttf", true},
        {"font/otf", true},
        {"application/vnd.ms-fontobject", true},
        {"image/x-icon", true},
        {"application/yaml", true},
        {"font/woff", false},
        {"font/woff2", false},
        {"image/png", false},
        {"image/jpeg", false},
        {"image/webp", false},
        {"application/zip", false},
        {"application/gzip", false},
        {"application/epub+zip", false},
        {"video/mp4", false},
        {"audio/mpeg", false},
        {"application/pdf", false},
        {"application/octet-stream", false},
        {"", false},
    };
    for (const auto& c : cases) EXPECT_EQ(is_compressible(c.type), c.want) << c.type;
}

TEST(IsCompressible, AgreesWithTableForCommonText) {
    for (std::string_view p : {"a.html", "a.css", "a.js", "a.json", "a.svg", "a.xml", "a.txt",
                               "a.map", "a.webmanifest", "a.wasm"})
        EXPECT_TRUE(is_compressible(content_type_for(p))) << p;
    for (std::string_view p : {"a.png", "a.jpg", "a.woff2", "a.mp4", "a.zip", "a.br", "a.gz"})
        EXPECT_FALSE(is_compressible(content_type_for(p))) << p;
}

}  // namespace
}  // namespace moat::content

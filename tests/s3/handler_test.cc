// The S3 handler in process over a real store in a temp folder: every request is presigned
// with a real key (s3/auth.h), so authentication, routing, grants, XML and the store all run.
#include "s3/handler.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <vector>

#include "s3/auth.h"
#include "s3/xml.h"
#include "support/temp_dir.h"

namespace moat::s3 {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

using TempDir = test_support::TempDir;

class MemBody : public edge::ServiceBody {
public:
    MemBody(std::string data, std::optional<std::uint64_t> len)
        : data_(std::move(data)), len_(len) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        if (len_ && pos_ == data_.size() && data_.size() < *len_)
            return make_error(Errc::kInvalidArgument, "peer closed early");
        std::size_t take = std::min(n, data_.size() - pos_);
        std::copy_n(data_.data() + pos_, take, buf);
        pos_ += take;
        return take;
    }
    std::optional<std::uint64_t> length() const override { return len_; }

private:
    std::string data_;
    std::optional<std::uint64_t> len_;
    std::size_t pos_ = 0;
};

class MemResponse : public edge::ServiceResponse {
public:
    Result<void> start(int status, const edge::ServiceHeaders& headers,
                       std::uint64_t content_length) override {
        EXPECT_FALSE(started_);
        started_ = true;
        status_ = status;
        headers_ = headers;
        announced_ = content_length;
        return {};
    }
    Result<void> write(std::string_view bytes) override {
        body_.append(bytes);
        writes_.push_back(bytes.size());
        return {};
    }
    bool started() const override { return started_; }

    int status_ = 0;
    edge::ServiceHeaders headers_;
    std::uint64_t announced_ = 0;
    std::string body_;
    std::vector<std::size_t> writes_;  // the size of each write(), in order
    bool started_ = false;
};

struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    std::vector<std::size_t> writes;
    std::string header(const std::string& n) const {
        auto it = headers.find(n);
        return it == headers.end() ? "" : it->second;
    }
    // <Code> of an error document.
    std::string code() const {
        auto x = parse_xml(body);
        return x ? std::string(x->child_text("Code")) : "";
    }
};

std::string digest_b64(std::string_view data, const EVP_MD* md) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), d, &n, md, nullptr);
    unsigned char out[128];
    int len = EVP_EncodeBlock(out, d, static_cast<int>(n));
    return std::string(reinterpret_cast<char*>(out), len);
}
std::string md5_hex(std::string_view data) {
    unsigned char d[16];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), d, &n, EVP_md5(), nullptr);
    static const char* k = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < n; ++i) {
        s += k[d[i] >> 4];
        s += k[d[i] & 15];
    }
    return s;
}

class S3HandlerTest : public ::testing::Test {
protected:
    void SetUp() override {
        store::StoreSettings s;
        s.enabled = true;
        s.dir = dir_.path() + "/store";
        s.default_buckets = false;
        auto st = store::Store::open(s);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        auto k = store_->create_key("tester", {{"*", "", true, true, true}});
        ASSERT_TRUE(k) << k.error().detail;
        key_ = *k;
        auto limited = store_->create_key("reader", {{"pub", "", true, false, true}});
        ASSERT_TRUE(limited);
        reader_ = *limited;
        S3Settings ss;
        handler_ = std::make_unique<S3Handler>(*store_, ss);
    }

    // path and query already percent-encoded.
    Reply send(std::string method, std::string path, std::string query = {}, std::string body = {},
               edge::ServiceHeaders headers = {}, const store::KeyRecord* who = nullptr,
               bool sign = true, std::optional<std::uint64_t> length = std::nullopt) {
        const store::KeyRecord& k = who ? *who : key_;
        std::string target = path + (query.empty() ? "" : "?" + query);
        if (sign)
            target = presign_url(method, "localhost", path, query, k.access_key_id, k.secret,
                                 "us-east-1", Clock::now(), std::chrono::seconds(300));
        edge::ServiceRequest req;
        req.method = method;
        req.target = target;
        auto q = target.find('?');
        req.path = target.substr(0, q);
        req.query = q == std::string::npos ? "" : target.substr(q + 1);
        req.host = "localhost";
        req.headers.emplace_back("host", "localhost");
        for (auto& h : headers) req.headers.push_back(h);
        req.secure = true;
        req.peer_ip = "127.0.0.1";
        req.received = Clock::now();
        MemBody b(body, length ? length : std::optional<std::uint64_t>(body.size()));
        req.body = &b;
        MemResponse res;
        handler_->handle(req, res);
        Reply r;
        r.status = res.status_;
        for (auto& [n, v] : res.headers_) r.headers[n] = v;
        r.body = res.body_;
        r.writes = res.writes_;
        if (method != "HEAD") EXPECT_EQ(res.announced_, res.body_.size()) << method << " " << path;
        EXPECT_FALSE(r.header("x-amz-request-id").empty());
        return r;
    }

    TempDir dir_;
    std::unique_ptr<store::Store> store_;
    store::KeyRecord key_, reader_;
    std::unique_ptr<S3Handler> handler_;
};

TEST_F(S3HandlerTest, BucketLifeCycle) {
    EXPECT_EQ(send("PUT", "/bkt").status, 200);
    EXPECT_EQ(send("PUT", "/bkt").code(), "BucketAlreadyOwnedByYou");
    EXPECT_EQ(send("HEAD", "/bkt").status, 200);
    EXPECT_EQ(send("HEAD", "/nope").status, 404);
    auto nb = send("GET", "/nope/k");
    EXPECT_EQ(nb.status, 404);
    EXPECT_EQ(nb.code(), "NoSuchBucket");
    auto list = send("GET", "/");
    ASSERT_EQ(list.status, 200);
    EXPECT_NE(list.body.find("<Name>bkt</Name>"), std::string::npos);
    auto loc = send("GET", "/bkt", "location");
    EXPECT_EQ(loc.status, 200);
    EXPECT_NE(loc.body.find("<LocationConstraint"), std::string::npos);
    auto enc = send("GET", "/bkt", "encryption");
    EXPECT_NE(enc.body.find("<SSEAlgorithm>AES256</SSEAlgorithm>"), std::string::npos);
    auto ver = send("GET", "/bkt", "versioning");
    EXPECT_EQ(ver.status, 200);
    EXPECT_EQ(ver.body.find("<Status>"), std::string::npos);
    EXPECT_EQ(send("PUT", "/bkt/k", "", "x").status, 200);
    EXPECT_EQ(send("DELETE", "/bkt").code(), "BucketNotEmpty");
    EXPECT_EQ(send("DELETE", "/bkt/k").status, 204);
    EXPECT_EQ(send("DELETE", "/bkt").status, 204);
    EXPECT_EQ(send("HEAD", "/bkt").status, 404);
}

TEST_F(S3HandlerTest, PutGetHeadWithRangesAndConditions) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    std::string data = "hello, world: 0123456789";
    auto put = send("PUT", "/bkt/dir/a%20b.txt", "", data,
                    {{"content-type", "text/plain"},
                     {"x-amz-meta-mtime", "1700000000.5"},
                     {"cache-control", "max-age=60"},
                     {"content-md5", digest_b64(data, EVP_md5())}});
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.header("etag"), "\"" + md5_hex(data) + "\"");
    EXPECT_EQ(put.header("x-amz-server-side-encryption"), "AES256");

    auto get = send("GET", "/bkt/dir/a%20b.txt");
    ASSERT_EQ(get.status, 200);
    EXPECT_EQ(get.body, data);
    EXPECT_EQ(get.header("content-type"), "text/plain");
    EXPECT_EQ(get.header("x-amz-meta-mtime"), "1700000000.5");
    EXPECT_EQ(get.header("cache-control"), "max-age=60");
    EXPECT_EQ(get.header("etag"), put.header("etag"));
    EXPECT_FALSE(get.header("last-modified").empty());

    auto head = send("HEAD", "/bkt/dir/a%20b.txt");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());

    auto part = send("GET", "/bkt/dir/a%20b.txt", "", "", {{"range", "bytes=7-11"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.body, "world");
    EXPECT_EQ(part.header("content-range"), "bytes 7-11/" + std::to_string(data.size()));
    auto bad = send("GET", "/bkt/dir/a%20b.txt", "", "", {{"range", "bytes=1000-"}});
    EXPECT_EQ(bad.status, 416);
    EXPECT_EQ(bad.code(), "InvalidRange");

    EXPECT_EQ(
        send("GET", "/bkt/dir/a%20b.txt", "", "", {{"if-none-match", put.header("etag")}}).status,
        304);
    EXPECT_EQ(send("GET", "/bkt/dir/a%20b.txt", "", "", {{"if-match", "\"nope\""}}).status, 412);
    EXPECT_EQ(send("GET", "/bkt/dir/a%20b.txt", "", "",
                   {{"if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"}})
                  .status,
              200);

    auto over =
        send("GET", "/bkt/dir/a%20b.txt",
             "response-content-type=application%2Fjson&response-content-disposition=attachment");
    EXPECT_EQ(over.header("content-type"), "application/json");
    EXPECT_EQ(over.header("content-disposition"), "attachment");

    // If-None-Match: * creates only when absent.
    EXPECT_EQ(send("PUT", "/bkt/dir/a%20b.txt", "", "other", {{"if-none-match", "*"}}).status, 412);
    EXPECT_EQ(send("PUT", "/bkt/new", "", "n", {{"if-none-match", "*"}}).status, 200);

    auto missing = send("GET", "/bkt/missing");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.code(), "NoSuchKey");
    auto x = parse_xml(missing.body);
    ASSERT_TRUE(x);
    EXPECT_EQ(x->child_text("RequestId"), missing.header("x-amz-request-id"));
    EXPECT_EQ(send("HEAD", "/bkt/missing").body, "");
}

// A large object in the store's plaintext cache is sent from it in one write per segment (the
// cache's own bytes, not 256 KiB copies into a buffer); a range read first, before the object
// is cached, goes through the buffer. Both byte-exact.
TEST_F(S3HandlerTest, CachedLargeObjectsAreSentWithoutCopies) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    std::string big(600 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 >> 3);
    ASSERT_EQ(send("PUT", "/bkt/big", "", big).status, 200);
    ASSERT_EQ(send("PUT", "/bkt/other", "", big).status, 200);  // deduplicated: same blob

    auto first = send("GET", "/bkt/big", "", "", {{"range", "bytes=1000-599999"}});
    EXPECT_EQ(first.status, 206);
    EXPECT_EQ(first.body, big.substr(1000, 599000));
    EXPECT_EQ(first.writes, (std::vector<std::size_t>{256 * 1024, 256 * 1024, 74712}));

    for (int i = 0; i < 2; ++i) {
        auto whole = send("GET", "/bkt/big");
        EXPECT_EQ(whole.status, 200);
        EXPECT_EQ(whole.body, big);
        EXPECT_EQ(whole.writes, std::vector<std::size_t>{big.size()});
    }
    auto range = send("GET", "/bkt/other", "", "", {{"range", "bytes=100000-399999"}});
    EXPECT_EQ(range.status, 206);
    EXPECT_EQ(range.body, big.substr(100000, 300000));
    EXPECT_EQ(range.writes, std::vector<std::size_t>{300000});
}

TEST_F(S3HandlerTest, BadBodiesStoreNothing) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    auto wrong =
        send("PUT", "/bkt/k", "", "data", {{"content-md5", digest_b64("other", EVP_md5())}});
    EXPECT_EQ(wrong.status, 400);
    EXPECT_EQ(wrong.code(), "BadDigest");
    EXPECT_EQ(send("HEAD", "/bkt/k").status, 404);
    // The peer announced 100 bytes and sent 4.
    auto cut = send("PUT", "/bkt/k", "", "data", {}, nullptr, true, 100);
    EXPECT_EQ(cut.status, 400) << cut.body;
    EXPECT_EQ(send("HEAD", "/bkt/k").status, 404);
    // Keys are opaque: "..", "./" and odd bytes are stored and read back exactly.
    EXPECT_EQ(send("PUT", "/bkt/../x/./y", "", "dots").status, 200);
    EXPECT_EQ(send("GET", "/bkt/../x/./y").body, "dots");
    EXPECT_EQ(send("PUT", "/bkt/%FF%FE", "", "x").status, 400);  // not UTF-8
    EXPECT_EQ(send("PUT", "/bkt/" + std::string(1025, 'k'), "", "x").code(), "KeyTooLongError");
}

TEST_F(S3HandlerTest, AccessIsChecked) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    ASSERT_EQ(send("PUT", "/pub").status, 200);
    ASSERT_EQ(send("PUT", "/pub/k", "", "v").status, 200);
    auto anon = send("GET", "/pub/k", "", "", {}, nullptr, false);
    EXPECT_EQ(anon.status, 403);
    EXPECT_EQ(anon.code(), "AccessDenied");
    EXPECT_EQ(send("GET", "/pub/k", "", "", {}, &reader_).status, 200);
    EXPECT_EQ(send("PUT", "/pub/k", "", "w", {}, &reader_).code(), "AccessDenied");
    EXPECT_EQ(send("GET", "/bkt", "list-type=2", "", {}, &reader_).code(), "AccessDenied");
    auto buckets = send("GET", "/", "", "", {}, &reader_);
    EXPECT_NE(buckets.body.find("<Name>pub</Name>"), std::string::npos);
    EXPECT_EQ(buckets.body.find("<Name>bkt</Name>"), std::string::npos);
    store::KeyRecord forged = key_;
    forged.secret = std::string(40, 'x');
    EXPECT_EQ(send("GET", "/pub/k", "", "", {}, &forged).code(), "SignatureDoesNotMatch");
}

TEST_F(S3HandlerTest, ListsV1V2WithDelimiterPagingAndEncoding) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    for (const char* k : {"a/1", "a/2", "b/1", "c", "d+e f"})
        ASSERT_EQ(
            send("PUT", std::string("/bkt/") + (std::string(k) == "d+e f" ? "d%2Be%20f" : k), "", k)
                .status,
            200);
    auto v2 = send("GET", "/bkt", "list-type=2&delimiter=%2F&encoding-type=url");
    ASSERT_EQ(v2.status, 200);
    auto x = parse_xml(v2.body);
    ASSERT_TRUE(x);
    EXPECT_EQ(x->child_text("KeyCount"), "4");
    EXPECT_EQ(x->count("CommonPrefixes"), 2u);
    EXPECT_EQ(x->count("Contents"), 2u);
    EXPECT_NE(v2.body.find("<Key>d%2Be%20f</Key>"), std::string::npos);

    // Paging with continuation tokens visits every key once.
    std::vector<std::string> seen;
    std::string token;
    for (int i = 0; i < 10; ++i) {
        auto page =
            send("GET", "/bkt",
                 "list-type=2&max-keys=2" + (token.empty() ? "" : "&continuation-token=" + token));
        auto px = parse_xml(page.body);
        ASSERT_TRUE(px);
        for (const auto& c : px->children)
            if (c.name == "Contents") seen.emplace_back(c.child_text("Key"));
        if (px->child_text("IsTruncated") != "true") break;
        token = std::string(px->child_text("NextContinuationToken"));
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "a/2", "b/1", "c", "d+e f"}));

    auto v1 = send("GET", "/bkt", "prefix=a%2F&marker=a%2F1");
    auto x1 = parse_xml(v1.body);
    ASSERT_TRUE(x1);
    EXPECT_EQ(x1->count("Contents"), 1u);
    EXPECT_EQ(x1->child("Contents")->child_text("Key"), "a/2");
    EXPECT_EQ(send("GET", "/bkt", "list-type=2&continuation-token=zz").code(), "InvalidArgument");
    EXPECT_EQ(send("GET", "/bkt", "max-keys=-1").code(), "InvalidArgument");
}

TEST_F(S3HandlerTest, VersionsDeleteMarkersAndRestore) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    std::string vdoc =
        "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    ASSERT_EQ(send("PUT", "/bkt", "versioning", vdoc).status, 200);
    EXPECT_NE(send("GET", "/bkt", "versioning").body.find("<Status>Enabled</Status>"),
              std::string::npos);
    auto v1 = send("PUT", "/bkt/k", "", "one");
    auto v2 = send("PUT", "/bkt/k", "", "two");
    ASSERT_FALSE(v1.header("x-amz-version-id").empty());
    ASSERT_NE(v1.header("x-amz-version-id"), v2.header("x-amz-version-id"));
    EXPECT_EQ(send("GET", "/bkt/k", "versionId=" + v1.header("x-amz-version-id")).body, "one");

    auto del = send("DELETE", "/bkt/k");
    EXPECT_EQ(del.status, 204);
    EXPECT_EQ(del.header("x-amz-delete-marker"), "true");
    std::string marker = del.header("x-amz-version-id");
    ASSERT_FALSE(marker.empty());
    auto gone = send("GET", "/bkt/k");
    EXPECT_EQ(gone.status, 404);
    EXPECT_EQ(gone.header("x-amz-delete-marker"), "true");
    EXPECT_EQ(send("GET", "/bkt/k", "versionId=" + marker).status, 405);

    auto versions = send("GET", "/bkt", "versions");
    auto x = parse_xml(versions.body);
    ASSERT_TRUE(x);
    EXPECT_EQ(x->count("Version"), 2u);
    EXPECT_EQ(x->count("DeleteMarker"), 1u);

    // Restore the first version by copying it over the key.
    auto copy = send("PUT", "/bkt/k", "", "",
                     {{"x-amz-copy-source", "/bkt/k?versionId=" + v1.header("x-amz-version-id")}});
    ASSERT_EQ(copy.status, 200) << copy.body;
    EXPECT_EQ(send("GET", "/bkt/k").body, "one");
    // Removing a version by id is permanent.
    EXPECT_EQ(send("DELETE", "/bkt/k", "versionId=" + v2.header("x-amz-version-id")).status, 204);
    EXPECT_EQ(send("GET", "/bkt/k", "versionId=" + v2.header("x-amz-version-id")).status, 404);
}

TEST_F(S3HandlerTest, CopyRules) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    ASSERT_EQ(send("PUT", "/bkt/src%20key", "", "data", {{"content-type", "text/a"}}).status, 200);
    auto self = send("PUT", "/bkt/src%20key", "", "", {{"x-amz-copy-source", "/bkt/src%20key"}});
    EXPECT_EQ(self.code(), "InvalidRequest");
    auto replace = send("PUT", "/bkt/src%20key", "", "",
                        {{"x-amz-copy-source", "bkt/src%20key"},
                         {"x-amz-metadata-directive", "REPLACE"},
                         {"content-type", "text/b"}});
    ASSERT_EQ(replace.status, 200) << replace.body;
    EXPECT_NE(replace.body.find("<CopyObjectResult"), std::string::npos);
    EXPECT_EQ(send("HEAD", "/bkt/src%20key").header("content-type"), "text/b");
    auto copy = send("PUT", "/bkt/dst", "", "", {{"x-amz-copy-source", "/bkt/src%20key"}});
    ASSERT_EQ(copy.status, 200);
    EXPECT_EQ(send("GET", "/bkt/dst").body, "data");
    EXPECT_EQ(send("HEAD", "/bkt/dst").header("content-type"), "text/b");
    EXPECT_EQ(send("PUT", "/bkt/x", "", "", {{"x-amz-copy-source", "/bkt/none"}}).code(),
              "NoSuchKey");
    EXPECT_EQ(send("PUT", "/bkt/x", "", "",
                   {{"x-amz-copy-source", "/bkt/dst"}, {"x-amz-copy-source-if-match", "\"no\""}})
                  .status,
              412);
}

TEST_F(S3HandlerTest, MultipartUpload) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    auto init = send("POST", "/bkt/big", "uploads", "", {{"content-type", "application/x-big"}});
    ASSERT_EQ(init.status, 200) << init.body;
    auto ix = parse_xml(init.body);
    ASSERT_TRUE(ix);
    std::string id(ix->child_text("UploadId"));
    ASSERT_FALSE(id.empty());
    std::string p1(5 << 20, 'a'), p2 = "tail";
    auto r1 = send("PUT", "/bkt/big", "partNumber=1&uploadId=" + id, p1);
    auto r2 = send("PUT", "/bkt/big", "partNumber=2&uploadId=" + id, p2);
    ASSERT_EQ(r1.status, 200) << r1.body;
    ASSERT_EQ(r2.status, 200) << r2.body;
    auto lp = send("GET", "/bkt/big", "uploadId=" + id);
    EXPECT_EQ(parse_xml(lp.body)->count("Part"), 2u);
    auto lu = send("GET", "/bkt", "uploads");
    EXPECT_NE(lu.body.find(id), std::string::npos);

    std::string wrong = "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>" +
                        r2.header("etag") + "</ETag></Part><Part><PartNumber>1</PartNumber><ETag>" +
                        r1.header("etag") + "</ETag></Part></CompleteMultipartUpload>";
    EXPECT_EQ(send("POST", "/bkt/big", "uploadId=" + id, wrong).code(), "InvalidPartOrder");
    std::string doc = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                      r1.header("etag") + "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" +
                      r2.header("etag") + "</ETag></Part></CompleteMultipartUpload>";
    auto done = send("POST", "/bkt/big", "uploadId=" + id, doc);
    ASSERT_EQ(done.status, 200) << done.body;
    // ETag = MD5 of the parts' binary MD5s, "-2".
    std::string md5s;
    for (auto* p : {&p1, &p2}) {
        unsigned char d[16];
        unsigned int n;
        EVP_Digest(p->data(), p->size(), d, &n, EVP_md5(), nullptr);
        md5s.append(reinterpret_cast<char*>(d), 16);
    }
    EXPECT_NE(done.body.find("&quot;" + md5_hex(md5s) + "-2&quot;"), std::string::npos)
        << done.body;
    auto get = send("GET", "/bkt/big");
    EXPECT_EQ(get.body.size(), p1.size() + p2.size());
    EXPECT_EQ(get.header("content-type"), "application/x-big");
    EXPECT_EQ(send("DELETE", "/bkt/big", "uploadId=" + id).code(), "NoSuchUpload");

    auto init2 = send("POST", "/bkt/aborted", "uploads");
    std::string id2(parse_xml(init2.body)->child_text("UploadId"));
    EXPECT_EQ(send("DELETE", "/bkt/aborted", "uploadId=" + id2).status, 204);
    EXPECT_EQ(send("PUT", "/bkt/aborted", "partNumber=1&uploadId=" + id2, "x").code(),
              "NoSuchUpload");
    EXPECT_EQ(send("PUT", "/bkt/aborted", "partNumber=0&uploadId=" + id2, "x").code(),
              "InvalidArgument");
}

// A checksum the client sent is stored with the version and returned by GET and HEAD only with
// x-amz-checksum-mode: ENABLED, and not for a range (it covers the whole object).
TEST_F(S3HandlerTest, ClientChecksumsAreStoredAndReturnedOnRequest) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    std::string data = "checksummed bytes";
    std::string sha = digest_b64(data, EVP_sha256());
    auto put = send("PUT", "/bkt/c", "", data, {{"x-amz-checksum-sha256", sha}});
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(put.header("x-amz-checksum-sha256"), sha);
    for (const char* m : {"GET", "HEAD"}) {
        auto on = send(m, "/bkt/c", "", "", {{"x-amz-checksum-mode", "ENABLED"}});
        EXPECT_EQ(on.status, 200) << m;
        EXPECT_EQ(on.header("x-amz-checksum-sha256"), sha) << m;
        EXPECT_EQ(on.header("x-amz-checksum-type"), "FULL_OBJECT") << m;
        EXPECT_EQ(send(m, "/bkt/c").header("x-amz-checksum-sha256"), "") << m;
    }
    auto range =
        send("GET", "/bkt/c", "", "", {{"x-amz-checksum-mode", "ENABLED"}, {"range", "bytes=0-3"}});
    EXPECT_EQ(range.status, 206);
    EXPECT_EQ(range.header("x-amz-checksum-sha256"), "");
    // A wrong value stores nothing; a copy (even with new metadata) keeps the bytes' checksum.
    EXPECT_EQ(send("PUT", "/bkt/bad", "", data,
                   {{"x-amz-checksum-sha256", digest_b64("other", EVP_sha256())}})
                  .code(),
              "BadDigest");
    EXPECT_EQ(send("HEAD", "/bkt/bad").status, 404);
    ASSERT_EQ(send("PUT", "/bkt/c2", "", "",
                   {{"x-amz-copy-source", "/bkt/c"}, {"x-amz-metadata-directive", "REPLACE"}})
                  .status,
              200);
    EXPECT_EQ(send("HEAD", "/bkt/c2", "", "", {{"x-amz-checksum-mode", "ENABLED"}})
                  .header("x-amz-checksum-sha256"),
              sha);
}

// PutObject If-Match: the current ETag writes, a stale one is 412 PreconditionFailed, a missing
// key 404 NoSuchKey (store.md §1.5, s3-tests test_put_object_if_match).
TEST_F(S3HandlerTest, PutIfMatch) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    auto one = send("PUT", "/bkt/k", "", "one");
    ASSERT_EQ(one.status, 200);
    auto two = send("PUT", "/bkt/k", "", "two", {{"if-match", one.header("etag")}});
    EXPECT_EQ(two.status, 200) << two.body;
    auto stale = send("PUT", "/bkt/k", "", "three", {{"if-match", one.header("etag")}});
    EXPECT_EQ(stale.status, 412);
    EXPECT_EQ(stale.code(), "PreconditionFailed");
    EXPECT_EQ(send("GET", "/bkt/k").body, "two");
    auto missing = send("PUT", "/bkt/nope", "", "x", {{"if-match", one.header("etag")}});
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.code(), "NoSuchKey");
    EXPECT_EQ(send("HEAD", "/bkt/nope").status, 404);
}

// CompleteMultipartUpload honours If-None-Match: * and If-Match inside the store's commit; a
// failed condition keeps the upload, so the client may retry or abort.
TEST_F(S3HandlerTest, CompleteMultipartUploadConditions) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    auto existing = send("PUT", "/bkt/mp", "", "old");
    ASSERT_EQ(existing.status, 200);
    auto upload = [&]() {
        auto init = send("POST", "/bkt/mp", "uploads");
        std::string id(parse_xml(init.body)->child_text("UploadId"));
        auto p = send("PUT", "/bkt/mp", "partNumber=1&uploadId=" + id, "new");
        std::string doc = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" +
                          p.header("etag") + "</ETag></Part></CompleteMultipartUpload>";
        return std::make_pair(id, doc);
    };
    auto [id, doc] = upload();
    auto refused = send("POST", "/bkt/mp", "uploadId=" + id, doc, {{"if-none-match", "*"}});
    EXPECT_EQ(refused.status, 412);
    EXPECT_EQ(refused.code(), "PreconditionFailed");
    EXPECT_EQ(send("GET", "/bkt/mp").body, "old");
    EXPECT_EQ(send("POST", "/bkt/mp", "uploadId=" + id, doc, {{"if-match", "\"0123\""}}).status,
              412);
    auto done =
        send("POST", "/bkt/mp", "uploadId=" + id, doc, {{"if-match", existing.header("etag")}});
    EXPECT_EQ(done.status, 200) << done.body;
    EXPECT_EQ(send("GET", "/bkt/mp").body, "new");

    auto [id2, doc2] = upload();
    EXPECT_EQ(send("POST", "/bkt/other", "uploadId=" + id2, doc2, {{"if-match", "\"x\""}}).code(),
              "NoSuchUpload");
    EXPECT_EQ(send("POST", "/bkt/mp", "uploadId=" + id2, doc2, {{"if-none-match", "\"x\""}}).code(),
              "NotImplemented");
    EXPECT_EQ(send("POST", "/bkt/mp", "uploadId=" + id2, doc2).status, 200);
    auto [id3, doc3] = upload();
    ASSERT_EQ(send("DELETE", "/bkt/mp").status, 204);
    EXPECT_EQ(send("POST", "/bkt/mp", "uploadId=" + id3, doc3, {{"if-match", "\"x\""}}).code(),
              "NoSuchKey");
    EXPECT_EQ(send("POST", "/bkt/mp", "uploadId=" + id3, doc3, {{"if-none-match", "*"}}).status,
              200);
}

// UploadPartCopy: the whole source or an inclusive byte range within it becomes a part.
TEST_F(S3HandlerTest, UploadPartCopyWholeAndRange) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    std::string src(6 << 20, '\0');
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<char>(i * 7 + i / 4096);
    ASSERT_EQ(send("PUT", "/bkt/src", "", src).status, 200);
    auto init = send("POST", "/bkt/dst", "uploads");
    std::string id(parse_xml(init.body)->child_text("UploadId"));
    auto p1 = send("PUT", "/bkt/dst", "partNumber=1&uploadId=" + id, "",
                   {{"x-amz-copy-source", "/bkt/src"}});
    ASSERT_EQ(p1.status, 200) << p1.body;
    EXPECT_NE(p1.body.find("&quot;" + md5_hex(src) + "&quot;"), std::string::npos) << p1.body;
    auto p2 = send("PUT", "/bkt/dst", "partNumber=2&uploadId=" + id, "",
                   {{"x-amz-copy-source", "bkt/src"}, {"x-amz-copy-source-range", "bytes=10-19"}});
    ASSERT_EQ(p2.status, 200) << p2.body;
    EXPECT_NE(p2.body.find(md5_hex(src.substr(10, 10))), std::string::npos) << p2.body;
    for (const char* bad : {"bytes=0-6291456", "bytes=5-4", "bytes=-10", "bytes=3-", "10-19"}) {
        auto r = send("PUT", "/bkt/dst", "partNumber=3&uploadId=" + id, "",
                      {{"x-amz-copy-source", "/bkt/src"}, {"x-amz-copy-source-range", bad}});
        EXPECT_TRUE(r.code() == "InvalidRange" || r.code() == "InvalidArgument") << bad << r.body;
    }
    EXPECT_EQ(send("PUT", "/bkt/dst", "partNumber=3&uploadId=" + id, "",
                   {{"x-amz-copy-source", "/bkt/nope"}})
                  .code(),
              "NoSuchKey");
    std::string doc = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"" +
                      md5_hex(src) + "\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>\"" +
                      md5_hex(src.substr(10, 10)) + "\"</ETag></Part></CompleteMultipartUpload>";
    ASSERT_EQ(send("POST", "/bkt/dst", "uploadId=" + id, doc).status, 200);
    EXPECT_EQ(send("GET", "/bkt/dst").body, src + src.substr(10, 10));
}

TEST_F(S3HandlerTest, DeleteObjectsAndBadXml) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    for (const char* k : {"x1", "x2", "x3"})
        ASSERT_EQ(send("PUT", std::string("/bkt/") + k, "", k).status, 200);
    std::string doc =
        "<Delete><Object><Key>x1</Key></Object><Object><Key>x2</Key></Object>"
        "<Object><Key>never</Key></Object></Delete>";
    EXPECT_EQ(send("POST", "/bkt", "delete", doc).code(), "InvalidRequest");  // no Content-MD5
    auto del = send("POST", "/bkt", "delete", doc, {{"content-md5", digest_b64(doc, EVP_md5())}});
    ASSERT_EQ(del.status, 200) << del.body;
    EXPECT_EQ(parse_xml(del.body)->count("Deleted"), 3u);
    EXPECT_EQ(send("HEAD", "/bkt/x1").status, 404);
    EXPECT_EQ(send("HEAD", "/bkt/x3").status, 200);
    std::string quiet = "<Delete><Quiet>true</Quiet><Object><Key>x3</Key></Object></Delete>";
    auto q = send("POST", "/bkt", "delete", quiet, {{"content-md5", digest_b64(quiet, EVP_md5())}});
    EXPECT_EQ(parse_xml(q.body)->count("Deleted"), 0u);

    std::string bad = "<Delete><Object><Key>x</Key></Object>";
    EXPECT_EQ(
        send("POST", "/bkt", "delete", bad, {{"content-md5", digest_b64(bad, EVP_md5())}}).code(),
        "MalformedXML");
    std::string xxe =
        "<!DOCTYPE d [<!ENTITY e SYSTEM "
        "\"file:///etc/passwd\">]><Delete><Object><Key>&e;</Key></Object></Delete>";
    EXPECT_EQ(
        send("POST", "/bkt", "delete", xxe, {{"content-md5", digest_b64(xxe, EVP_md5())}}).code(),
        "MalformedXML");
    std::string huge = "<Delete>" + std::string(2 << 20, ' ') + "</Delete>";
    EXPECT_EQ(
        send("POST", "/bkt", "delete", huge, {{"content-md5", digest_b64(huge, EVP_md5())}}).code(),
        "MalformedXML");
    EXPECT_EQ(send("PUT", "/bkt", "versioning",
                   "<VersioningConfiguration><Status>On</Status>"
                   "</VersioningConfiguration>")
                  .code(),
              "MalformedXML");
}

TEST_F(S3HandlerTest, LifecycleConfiguration) {
    ASSERT_EQ(send("PUT", "/bkt").status, 200);
    EXPECT_EQ(send("GET", "/bkt", "lifecycle").code(), "NoSuchLifecycleConfiguration");
    std::string doc =
        "<LifecycleConfiguration><Rule><ID>nc</ID><Filter><Prefix>p/</Prefix></Filter>"
        "<Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays>"
        "</NoncurrentVersionExpiration></Rule></LifecycleConfiguration>";
    auto put = send("PUT", "/bkt", "lifecycle", doc, {{"content-md5", digest_b64(doc, EVP_md5())}});
    ASSERT_EQ(put.status, 200) << put.body;
    auto get = send("GET", "/bkt", "lifecycle");
    EXPECT_NE(get.body.find("<NoncurrentDays>7</NoncurrentDays>"), std::string::npos);
    EXPECT_NE(get.body.find("<Prefix>p/</Prefix>"), std::string::npos);
    EXPECT_EQ(send("DELETE", "/bkt", "lifecycle").status, 204);
    EXPECT_EQ(send("GET", "/bkt", "lifecycle").code(), "NoSuchLifecycleConfiguration");
}

}  // namespace
}  // namespace moat::s3

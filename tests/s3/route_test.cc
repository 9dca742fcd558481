#include "s3/route.h"

#include <gtest/gtest.h>

#include "s3/errors.h"

namespace moat::s3 {
namespace {

const std::vector<std::string> kHosts{"localhost", "s3.example.com"};

Result<Route> route(std::string_view method, std::string_view target,
                    std::string_view host = "localhost", bool copy = false) {
    auto q = target.find('?');
    RouteInput in{method, host, target.substr(0, q),
                  q == std::string_view::npos ? std::string_view() : target.substr(q + 1), copy};
    return resolve_route(in, kHosts);
}

Op op(std::string_view method, std::string_view target, bool copy = false) {
    auto r = route(method, target, "localhost", copy);
    EXPECT_TRUE(r) << method << " " << target << ": " << r.error().detail;
    return r ? r->op : Op::kListBuckets;
}

Code err(std::string_view method, std::string_view target) {
    auto r = route(method, target);
    EXPECT_FALSE(r) << method << " " << target;
    return r ? Code::kNone : static_cast<Code>(r.error().reason);
}

TEST(Route, PicksOperationsByMethodAndSubresource) {
    EXPECT_EQ(op("GET", "/"), Op::kListBuckets);
    EXPECT_EQ(op("PUT", "/b"), Op::kCreateBucket);
    EXPECT_EQ(op("PUT", "/b/"), Op::kCreateBucket);
    EXPECT_EQ(op("DELETE", "/b"), Op::kDeleteBucket);
    EXPECT_EQ(op("HEAD", "/b"), Op::kHeadBucket);
    EXPECT_EQ(op("GET", "/b?location"), Op::kGetBucketLocation);
    EXPECT_EQ(op("GET", "/b?versioning"), Op::kGetBucketVersioning);
    EXPECT_EQ(op("PUT", "/b?versioning"), Op::kPutBucketVersioning);
    EXPECT_EQ(op("GET", "/b?lifecycle"), Op::kGetBucketLifecycle);
    EXPECT_EQ(op("PUT", "/b?lifecycle="), Op::kPutBucketLifecycle);
    EXPECT_EQ(op("DELETE", "/b?lifecycle"), Op::kDeleteBucketLifecycle);
    EXPECT_EQ(op("GET", "/b?encryption"), Op::kGetBucketEncryption);
    EXPECT_EQ(op("GET", "/b"), Op::kListObjects);
    EXPECT_EQ(op("GET", "/b?list-type=2&prefix=a%2Fb"), Op::kListObjectsV2);
    EXPECT_EQ(op("GET", "/b?versions"), Op::kListObjectVersions);
    EXPECT_EQ(op("GET", "/b?uploads"), Op::kListMultipartUploads);
    EXPECT_EQ(op("POST", "/b?delete"), Op::kDeleteObjects);
    EXPECT_EQ(op("PUT", "/b/k"), Op::kPutObject);
    EXPECT_EQ(op("PUT", "/b/k", true), Op::kCopyObject);
    EXPECT_EQ(op("GET", "/b/k"), Op::kGetObject);
    EXPECT_EQ(op("HEAD", "/b/k"), Op::kHeadObject);
    EXPECT_EQ(op("DELETE", "/b/k?versionId=v"), Op::kDeleteObject);
    EXPECT_EQ(op("POST", "/b/k?uploads"), Op::kCreateMultipartUpload);
    EXPECT_EQ(op("PUT", "/b/k?partNumber=1&uploadId=u"), Op::kUploadPart);
    EXPECT_EQ(op("PUT", "/b/k?partNumber=1&uploadId=u", true), Op::kUploadPartCopy);
    EXPECT_EQ(op("POST", "/b/k?uploadId=u"), Op::kCompleteMultipartUpload);
    EXPECT_EQ(op("DELETE", "/b/k?uploadId=u"), Op::kAbortMultipartUpload);
    EXPECT_EQ(op("GET", "/b/k?uploadId=u"), Op::kListParts);
}

TEST(Route, DecodesKeysExactlyAndKeepsDotSegments) {
    auto r = route("GET", "/b/a%20b/..//c%2B+%25.txt");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->bucket, "b");
    // S3 does not normalize paths, and '+' in a path is a plus (only queries decode it).
    EXPECT_EQ(r->key, "a b/..//c++%.txt");
    auto q = route("GET", "/b?prefix=a+b%2Bc&delimiter=%2F");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->param("prefix"), "a b+c");
    EXPECT_EQ(q->param("delimiter"), "/");
    EXPECT_TRUE(q->has("delimiter"));
    EXPECT_FALSE(q->has("marker"));
}

TEST(Route, VirtualHostStyle) {
    auto r = route("GET", "/dir/file.txt", "my.bucket.s3.example.com");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->virtual_host);
    EXPECT_EQ(r->bucket, "my.bucket");
    EXPECT_EQ(r->key, "dir/file.txt");
    auto list = route("GET", "/?list-type=2", "content.localhost");
    ASSERT_TRUE(list);
    EXPECT_EQ(list->op, Op::kListObjectsV2);
    EXPECT_EQ(list->bucket, "content");
    // An unknown host (an IP literal) is path style.
    auto ip = route("GET", "/content/k", "127.0.0.1");
    ASSERT_TRUE(ip);
    EXPECT_FALSE(ip->virtual_host);
    EXPECT_EQ(ip->bucket, "content");
}

TEST(Route, RefusesWhatItCannotServe) {
    EXPECT_EQ(err("GET", "/b?acl"), Code::kNotImplemented);
    EXPECT_EQ(err("PUT", "/b/k?tagging"), Code::kNotImplemented);
    EXPECT_EQ(err("GET", "/b?website"), Code::kNotImplemented);
    EXPECT_EQ(err("POST", "/"), Code::kMethodNotAllowed);
    EXPECT_EQ(err("PATCH", "/b/k"), Code::kMethodNotAllowed);
    EXPECT_EQ(err("POST", "/b"), Code::kMethodNotAllowed);
    EXPECT_EQ(err("GET", "/b/%zz"), Code::kInvalidArgument);
    EXPECT_EQ(err("GET", "/b?prefix=%4"), Code::kInvalidArgument);
    EXPECT_EQ(err("GET", "/b/" + std::string(1025, 'k')), Code::kKeyTooLongError);
    EXPECT_EQ(err("GET", "/" + std::string(64, 'b')), Code::kInvalidBucketName);
    // An empty bucket segment before a key (found by s3_request_fuzz: it became ListBuckets).
    EXPECT_EQ(err("GET", "//k"), Code::kInvalidBucketName);
    EXPECT_EQ(err("PUT", "//%00"), Code::kInvalidBucketName);
    EXPECT_EQ(op("GET", "/"), Op::kListBuckets);
    EXPECT_EQ(err("PUT", "/b/k?partNumber=1"), Code::kInvalidRequest);
}

}  // namespace
}  // namespace moat::s3

#include "s3/errors.h"

#include <gtest/gtest.h>

#include "s3/error_response.h"
#include "s3/xml.h"
#include "store/store.h"

namespace moat::s3 {
namespace {

TEST(ErrorCodes, NamesAndStatusesMatchS3) {
    struct Row {
        Code c;
        const char* name;
        int status;
    };
    for (auto [c, name, status] : {
             Row{Code::kAccessDenied, "AccessDenied", 403},
             Row{Code::kExpiredPresignedRequest, "AccessDenied", 403},
             Row{Code::kNoSuchKey, "NoSuchKey", 404},
             Row{Code::kNoSuchBucket, "NoSuchBucket", 404},
             Row{Code::kBucketNotEmpty, "BucketNotEmpty", 409},
             Row{Code::kInvalidRange, "InvalidRange", 416},
             Row{Code::kPreconditionFailed, "PreconditionFailed", 412},
             Row{Code::kNotImplemented, "NotImplemented", 501},
             Row{Code::kSignatureDoesNotMatch, "SignatureDoesNotMatch", 403},
             Row{Code::kRequestTimeTooSkewed, "RequestTimeTooSkewed", 403},
             Row{Code::kMissingContentLength, "MissingContentLength", 411},
             Row{Code::kSlowDown, "SlowDown", 503},
             Row{Code::kXAmzContentSHA256Mismatch, "XAmzContentSHA256Mismatch", 400},
             Row{Code::kInvalidStorageClass, "InvalidStorageClass", 400},
             Row{Code::kNotModified, "NotModified", 304},
         }) {
        EXPECT_STREQ(code_info(c).name, name);
        EXPECT_EQ(code_info(c).status, status) << name;
    }
    // Every code has a name (a value appended to the enum without one would show up here).
    for (int i = 1; i <= static_cast<int>(Code::kNotModified); ++i)
        EXPECT_STRNE(code_info(static_cast<Code>(i)).name, "") << i;
}

TEST(ErrorCodes, StoreReasonsBecomeS3Codes) {
    auto conv = [](store::Reason r, Errc c) {
        return code_of(from_store(store::store_error(c, r, "x")));
    };
    EXPECT_EQ(conv(store::Reason::kNoSuchBucket, Errc::kNotFound), Code::kNoSuchBucket);
    EXPECT_EQ(conv(store::Reason::kNoSuchKey, Errc::kNotFound), Code::kNoSuchKey);
    EXPECT_EQ(conv(store::Reason::kNoSuchUpload, Errc::kNotFound), Code::kNoSuchUpload);
    EXPECT_EQ(conv(store::Reason::kNoSuchLifecycle, Errc::kNotFound),
              Code::kNoSuchLifecycleConfiguration);
    EXPECT_EQ(conv(store::Reason::kBucketExists, Errc::kConflict), Code::kBucketAlreadyOwnedByYou);
    EXPECT_EQ(conv(store::Reason::kBucketNotEmpty, Errc::kConflict), Code::kBucketNotEmpty);
    EXPECT_EQ(conv(store::Reason::kPreconditionFailed, Errc::kConflict), Code::kPreconditionFailed);
    EXPECT_EQ(conv(store::Reason::kInvalidPartOrder, Errc::kInvalidArgument),
              Code::kInvalidPartOrder);
    EXPECT_EQ(conv(store::Reason::kEntityTooSmall, Errc::kInvalidArgument), Code::kEntityTooSmall);
    EXPECT_EQ(conv(store::Reason::kNone, Errc::kIo), Code::kInternalError);
    EXPECT_EQ(conv(store::Reason::kNoSpace, Errc::kUnavailable), Code::kServiceUnavailable);
    // An error from neither space maps by its general code.
    EXPECT_EQ(code_of(make_error(Errc::kDenied, "x")), Code::kAccessDenied);
}

TEST(ErrorResponse, RendersTheS3Document) {
    auto r = error_response(s3_error(Code::kNoSuchKey, "The specified key does not exist."),
                            "/b/a&b", "REQ1", "us-east-1");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.code, "NoSuchKey");
    auto x = parse_xml(r.body);
    ASSERT_TRUE(x);
    EXPECT_EQ(x->name, "Error");
    EXPECT_EQ(x->child_text("Code"), "NoSuchKey");
    EXPECT_EQ(x->child_text("Message"), "The specified key does not exist.");
    EXPECT_EQ(x->child_text("Resource"), "/b/a&b");
    EXPECT_EQ(x->child_text("RequestId"), "REQ1");

    // Internal details stay in the log.
    auto i = error_response(make_error(Errc::kIo, "open /secret/path: EIO"), "/", "R", "r");
    EXPECT_EQ(i.status, 500);
    EXPECT_EQ(i.body.find("/secret/path"), std::string::npos);

    auto m = error_response(s3_error(Code::kAuthorizationHeaderMalformed, "bad region"), "/", "R",
                            "eu-west-1");
    auto mx = parse_xml(m.body);
    ASSERT_TRUE(mx);
    EXPECT_EQ(mx->child_text("Region"), "eu-west-1");

    auto nm = error_response(s3_error(Code::kNotModified, ""), "/", "R", "r");
    EXPECT_EQ(nm.status, 304);
    EXPECT_TRUE(nm.body.empty());
}

}  // namespace
}  // namespace moat::s3

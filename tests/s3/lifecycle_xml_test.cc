#include "s3/lifecycle_xml.h"

#include <gtest/gtest.h>

#include "s3/errors.h"

namespace moat::s3 {
namespace {

Code code_of_parse(std::string_view doc) {
    auto r = parse_lifecycle(doc);
    EXPECT_FALSE(r) << doc;
    return r ? Code::kNone : static_cast<Code>(r.error().reason);
}

TEST(LifecycleXml, ReadsTheSeedsRules) {
    auto r =
        parse_lifecycle(R"(<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule><ID>logs</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>
    <Expiration><Days>365</Days></Expiration>
    <NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays>
      <NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>
  </Rule>
  <Rule><ID>markers</ID><Filter><And><Prefix>a/</Prefix></And></Filter><Status>Disabled</Status>
    <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>
  <Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Enabled</Status>
    <NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>
</LifecycleConfiguration>)");
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(r->size(), 3u);
    const auto& a = (*r)[0];
    EXPECT_EQ(a.id, "logs");
    EXPECT_TRUE(a.enabled);
    EXPECT_EQ(a.prefix, "");
    EXPECT_EQ(a.expiration_days, 365);
    EXPECT_EQ(a.noncurrent_days, 7);
    EXPECT_EQ(a.newer_noncurrent_versions, 3);
    EXPECT_EQ(a.abort_multipart_days, 2);
    EXPECT_FALSE((*r)[1].enabled);
    EXPECT_EQ((*r)[1].prefix, "a/");
    EXPECT_TRUE((*r)[1].expired_object_delete_marker);
    EXPECT_EQ((*r)[2].prefix, "old/");
    EXPECT_EQ((*r)[2].noncurrent_days, 1);

    // Rendered and read back, the rules are the same.
    auto again = parse_lifecycle(render_lifecycle(*r));
    ASSERT_TRUE(again) << again.error().detail;
    ASSERT_EQ(again->size(), 3u);
    EXPECT_EQ((*again)[0].newer_noncurrent_versions, 3);
    EXPECT_EQ((*again)[1].prefix, "a/");
    EXPECT_TRUE((*again)[1].expired_object_delete_marker);
    EXPECT_FALSE((*again)[1].enabled);
}

TEST(LifecycleXml, RefusesInvalidRules) {
    EXPECT_EQ(code_of_parse("<LifecycleConfiguration/>"), Code::kMalformedXML);
    EXPECT_EQ(code_of_parse("<Lifecycle><Rule/></Lifecycle>"), Code::kMalformedXML);
    EXPECT_EQ(
        code_of_parse("<LifecycleConfiguration><Rule><Status>On</Status>"
                      "<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"),
        Code::kMalformedXML);
    EXPECT_EQ(code_of_parse("<LifecycleConfiguration><Rule><Status>Enabled</Status></Rule>"
                            "</LifecycleConfiguration>"),
              Code::kInvalidArgument);
    EXPECT_EQ(
        code_of_parse("<LifecycleConfiguration><Rule><Status>Enabled</Status>"
                      "<Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>"),
        Code::kInvalidArgument);
    EXPECT_EQ(
        code_of_parse("<LifecycleConfiguration><Rule><Status>Enabled</Status>"
                      "<Expiration><Days>x</Days></Expiration></Rule></LifecycleConfiguration>"),
        Code::kMalformedXML);
    EXPECT_EQ(
        code_of_parse("<LifecycleConfiguration><Rule><Status>Enabled</Status><Expiration>"
                      "<Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                      "</Expiration></Rule></LifecycleConfiguration>"),
        Code::kInvalidArgument);
    EXPECT_EQ(code_of_parse("<LifecycleConfiguration><Rule><Filter><Tag><Key>a</Key></Tag></Filter>"
                            "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
                            "</LifecycleConfiguration>"),
              Code::kNotImplemented);
    EXPECT_EQ(
        code_of_parse(
            "<LifecycleConfiguration>"
            "<Rule><ID>x</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
            "<Rule><ID>x</ID><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>"
            "</LifecycleConfiguration>"),
        Code::kInvalidArgument);
    std::string many = "<LifecycleConfiguration>";
    for (int i = 0; i < 1001; ++i)
        many += "<Rule><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>";
    many += "</LifecycleConfiguration>";
    EXPECT_EQ(code_of_parse(many), Code::kInvalidArgument);
}

}  // namespace
}  // namespace moat::s3

#include "kairos/core/sigv4.hpp"

#include <gtest/gtest.h>

// The expected values are AWS's published SigV4 examples (S3 "Examples:
// Signature Calculations" and the IAM signing test suite), all with AWS's
// documentation credentials.

namespace {

using kairos::sigv4::credentials;
using kairos::sigv4::request;

const credentials s3_docs{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const credentials iam_docs{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

request s3_get(std::string path, std::vector<std::pair<std::string, std::string>> query) {
  request r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  r.payload_hash = std::string(kairos::sigv4::empty_payload_hash);
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-content-sha256", r.payload_hash}};
  return r;
}

TEST(sigv4, s3_get_object_example_matches_aws_signature) {
  auto r = s3_get("/test.txt", {});
  r.headers.emplace_back("Range", "bytes=0-9");
  const auto s = kairos::sigv4::sign(r, s3_docs, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(
      s.canonical_request,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(sigv4, s3_put_object_example_encodes_the_dollar_in_the_key) {
  request r;
  r.method = "PUT";
  r.path = "/test$file.text";
  r.payload_hash = kairos::sigv4::sha256_hex("Welcome to Amazon S3.");
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
               {"x-amz-content-sha256", r.payload_hash}};
  EXPECT_EQ(r.payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const auto s = kairos::sigv4::sign(r, s3_docs, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_NE(s.canonical_request.find("\n/test%24file.text\n"), std::string::npos);
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(sigv4, s3_get_bucket_lifecycle_example_signs_a_valueless_query_parameter) {
  const auto s = kairos::sigv4::sign(s3_get("/", {{"lifecycle", ""}}), s3_docs, "us-east-1", "s3",
                                     "20130524T000000Z");
  EXPECT_NE(s.canonical_request.find("\n/\nlifecycle=\n"), std::string::npos);
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(sigv4, s3_list_objects_example_sorts_the_query) {
  const auto s = kairos::sigv4::sign(s3_get("/", {{"prefix", "J"}, {"max-keys", "2"}}), s3_docs,
                                     "us-east-1", "s3", "20130524T000000Z");
  EXPECT_NE(s.canonical_request.find("\n/\nmax-keys=2&prefix=J\n"), std::string::npos);
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(sigv4, iam_get_vanilla_example_matches_aws_signature) {
  request r;
  r.method = "GET";
  r.path = "/";
  r.payload_hash = std::string(kairos::sigv4::empty_payload_hash);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  const auto s = kairos::sigv4::sign(r, iam_docs, "us-east-1", "service", "20150830T123600Z");
  EXPECT_EQ(s.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(s.signed_headers, "host;x-amz-date");
}

TEST(sigv4, iam_query_order_example_sorts_parameters_by_name) {
  request r;
  r.method = "GET";
  r.path = "/";
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  r.payload_hash = std::string(kairos::sigv4::empty_payload_hash);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  const auto s = kairos::sigv4::sign(r, iam_docs, "us-east-1", "service", "20150830T123600Z");
  EXPECT_EQ(s.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(sigv4, uri_encode_keeps_unreserved_bytes_and_encodes_the_rest_upper_case) {
  EXPECT_EQ(kairos::sigv4::uri_encode("a-b_c.d~e", false), "a-b_c.d~e");
  EXPECT_EQ(kairos::sigv4::uri_encode("a b+c/d=é", false), "a%20b%2Bc%2Fd%3D%C3%A9");
  EXPECT_EQ(kairos::sigv4::uri_encode("dir/a b", true), "dir/a%20b");
}

TEST(sigv4, header_values_are_trimmed_and_inner_spaces_collapsed) {
  request r;
  r.path = "/";
  r.payload_hash = "UNSIGNED-PAYLOAD";
  r.headers = {{"Host", "h"}, {"X-Custom", "  a   b  "}, {"x-custom", "c"}};
  const auto s = kairos::sigv4::sign(r, s3_docs, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_NE(s.canonical_request.find("\nx-custom:a b,c\n"), std::string::npos);
}

TEST(sigv4, amz_date_formats_utc_basic_iso8601) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1369353600));
  EXPECT_EQ(kairos::sigv4::amz_date(t), "20130524T000000Z");
}

TEST(sigv4, signed_headers_for_adds_date_payload_hash_and_authorization) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1369353600));
  const auto headers = kairos::sigv4::signed_headers_for("GET", "examplebucket.s3.amazonaws.com",
                                                         "/", {{"max-keys", "2"}, {"prefix", "J"}},
                                                         s3_docs, "us-east-1", "s3", t);
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[1].second, "20130524T000000Z");
  EXPECT_EQ(headers[2].first, "Authorization");
  // Same request as AWS's ListObjects example, so the same signature.
  EXPECT_NE(headers[2].second.find(
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
            std::string::npos);
}

}  // namespace

#include "kairos/core/digest.hpp"

#include <string>

#include <gtest/gtest.h>

namespace kairos::digest {
namespace {

TEST(digest, hashes_match_the_published_vectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hash(algorithm::sha256, "abc").size(), 32u);
  EXPECT_EQ(hash(algorithm::sha1, "abc").size(), 20u);
}

TEST(digest, hmacs_match_the_rfc_vectors) {
  // RFC 4231 test case 2 and RFC 2202 test case 2.
  EXPECT_EQ(hex(hmac(algorithm::sha256, "Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex(hmac(algorithm::sha1, "Jefe", "what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(digest, hex_is_lower_case_two_digits_per_byte) {
  EXPECT_EQ(hex(std::string("\x00\x0f\xa0\xff", 4)), "000fa0ff");
  EXPECT_EQ(hex(""), "");
}

TEST(digest, equal_needs_the_same_bytes_and_length) {
  EXPECT_TRUE(equal("abc", "abc"));
  EXPECT_TRUE(equal("", ""));
  EXPECT_FALSE(equal("abc", "abd"));
  EXPECT_FALSE(equal("abc", "ab"));
  EXPECT_FALSE(equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(digest, secret_equal_compares_secrets_of_any_length) {
  EXPECT_TRUE(secret_equal("s3cret-token", "s3cret-token"));
  EXPECT_FALSE(secret_equal("s3cret-token", "s3cret-toke"));
  EXPECT_FALSE(secret_equal("s3cret-token", "s3cret-token "));
  EXPECT_FALSE(secret_equal("s3cret-token", ""));
  EXPECT_TRUE(secret_equal(std::string(5000, 'x'), std::string(5000, 'x')));
}

}  // namespace
}  // namespace kairos::digest

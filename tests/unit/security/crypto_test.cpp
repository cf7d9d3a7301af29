#include "xiaonao/security/crypto.hpp"

#include <set>

#include <gtest/gtest.h>

#include "xiaonao/security/tokens.hpp"

namespace xiaonao::security {
namespace {

TEST(Password, Argon2idVerifiesOnlyTheRightPassword) {
  const auto h = hash_password("correct horse battery", 1, 8192);
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_TRUE(verify_password("correct horse battery", h));
  EXPECT_FALSE(verify_password("correct horse batterx", h));
  EXPECT_FALSE(verify_password("", h));
  EXPECT_FALSE(verify_password("correct horse battery", "not a hash"));
  EXPECT_NE(hash_password("correct horse battery", 1, 8192), h);  // salted
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Tokens, ShapesAndUniqueness) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const auto a = new_access_token();
    const auto r = new_refresh_token();
    EXPECT_TRUE(looks_like_access_token(a)) << a;
    EXPECT_FALSE(looks_like_access_token(r));
    EXPECT_TRUE(looks_like_refresh_token(r)) << r;
    EXPECT_TRUE(seen.insert(a).second);
    const auto k = new_api_key();
    std::string id, secret;
    ASSERT_TRUE(split_api_key(k.text, id, secret)) << k.text;
    EXPECT_EQ(id, k.id);
    EXPECT_EQ(secret, k.secret);
  }
  std::string id, secret;
  for (const char* bad : {"", "xnk_", "xnk_0123456789ab", "xnk_0123456789AB_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                          "xna_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "xnk_0123456789ab_aaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    EXPECT_FALSE(split_api_key(bad, id, secret)) << bad;
  }
  EXPECT_FALSE(looks_like_access_token("xna_" + std::string(43, '!')));
}

TEST(ConstantTime, Equality) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace xiaonao::security

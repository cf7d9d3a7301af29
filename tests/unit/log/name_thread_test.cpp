#include <pthread.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "xiaonao/log/log.hpp"

namespace {

std::string own_name() {
  char buf[32] = {};
  pthread_getname_np(pthread_self(), buf, sizeof buf);
  return buf;
}

// What top -H and bench/profile.sh read: the name, cut to the kernel's 15 bytes.
TEST(NameThread, NamesTheCallingThreadOnly) {
  const auto main_name = own_name();
  std::string seen, long_seen;
  std::thread([&] {
    xiaonao::log::name_thread("xn-intake-0");
    seen = own_name();
    xiaonao::log::name_thread("xn-a-name-longer-than-fifteen");
    long_seen = own_name();
  }).join();
  EXPECT_EQ(seen, "xn-intake-0");
  EXPECT_EQ(long_seen, "xn-a-name-longe");
  EXPECT_EQ(long_seen.size(), 15u);
  EXPECT_EQ(own_name(), main_name);
}

}  // namespace

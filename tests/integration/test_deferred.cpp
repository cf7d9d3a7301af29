// The store's deferred statements (src/store/deferred.hpp): writes whose result is not needed
// travel with the next read, as one multi-statement query of EXECUTE calls. What the intake
// writer relies on: they run before the read and in the order queued, their values arrive
// unchanged whatever they hold, an error in any of them is thrown at the read and stops the
// rest, and a statement libpqxx has not prepared on the server yet still works. Its literals
// are written by hand (dollar-quoted, or E'…' when the text holds the tag): random texts arrive
// unchanged whatever standard_conforming_strings says.
#include <random>
#include <stdexcept>
#include <string>

#include <pqxx/pqxx>

#include "../../src/store/deferred.hpp"
#include "harness.hpp"

namespace xiaonao::itest {
namespace {

using store::detail::Deferred;

class StoreDeferred : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    conn_ = std::make_unique<pqxx::connection>(db_conninfo());
    pqxx::nontransaction(*conn_).exec("CREATE TEMP TABLE deferred_t (n int PRIMARY KEY, v text, j json)");
    conn_->prepare("t_add", "INSERT INTO deferred_t (n, v, j) VALUES ($1, $2, $3::json)");
    conn_->prepare("t_count", "SELECT count(*), coalesce(string_agg(n::text, ',' ORDER BY n), '') FROM deferred_t");
    conn_->prepare("t_get", "SELECT v, j::text FROM deferred_t WHERE n = $1");
  }
  std::unique_ptr<pqxx::connection> conn_;
};

TEST_F(StoreDeferred, QueuedWritesRunBeforeTheReadInOrder) {
  conn_->prepare("t_set", "UPDATE deferred_t SET v = $2 WHERE n = $1");
  pqxx::work w(*conn_);
  Deferred d;
  // None of these statements was ever run through libpqxx: each is prepared on first use.
  d.add(w, "t_add", 2, std::string("b"), std::string("{}"));
  d.add(w, "t_add", 1, std::string("a"), std::string("[]"));
  d.add(w, "t_set", 1, std::string("a, then changed"));
  const auto r = d.exec(w, "t_get", 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), "a, then changed") << "the update ran after the insert";
  const auto c = d.exec(w, "t_count");
  EXPECT_EQ(c[0][0].as<int>(), 2);
  EXPECT_EQ(c[0][1].as<std::string>(), "1,2");
}

TEST_F(StoreDeferred, ValuesArriveUnchanged) {
  const std::string text = "it's \"quoted\" \\ back'slash'\nnew line\t中文 $1 ; EXECUTE t_count; --";
  const std::string doc = R"({"a":"it's \"x\" \\ y","b":[1,2.5,null],"c":"中文"})";
  pqxx::work w(*conn_);
  Deferred d;
  d.add(w, "t_add", 7, text, doc);
  const auto r = d.exec(w, "t_get", 7);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), text);
  EXPECT_EQ(r[0][1].as<std::string>(), doc);
  EXPECT_EQ(d.exec(w, "t_count")[0][0].as<int>(), 1) << "the text was a value, not SQL";
}

TEST_F(StoreDeferred, AnErrorIsThrownAtTheReadAndNothingStays) {
  {
    pqxx::work w(*conn_);
    Deferred d;
    d.add(w, "t_add", 1, std::string("a"), std::string("{}"));
    d.add(w, "t_add", 1, std::string("again"), std::string("{}"));
    d.add(w, "t_add", 2, std::string("b"), std::string("{}"));
    try {
      d.exec(w, "t_count");
      ADD_FAILURE() << "the duplicate key did not fail";
    } catch (const pqxx::sql_error& e) {
      EXPECT_EQ(e.sqlstate(), "23505");
    }
  }
  pqxx::work w(*conn_);
  EXPECT_EQ(w.exec_prepared("t_count")[0][0].as<int>(), 0);
}

TEST_F(StoreDeferred, FlushSendsWhatIsQueued) {
  pqxx::work w(*conn_);
  Deferred d;
  d.flush(w);  // nothing queued: nothing sent
  d.add(w, "t_add", 5, std::string("e"), std::string("null"));
  EXPECT_EQ(w.exec_prepared("t_count")[0][0].as<int>(), 0) << "not sent before the flush";
  d.flush(w);
  EXPECT_EQ(w.exec_prepared("t_count")[0][0].as<int>(), 1);
  d.flush(w);
  EXPECT_EQ(w.exec_prepared("t_count")[0][0].as<int>(), 1) << "sent once";
}

TEST_F(StoreDeferred, RandomTextsArriveUnchangedEitherWayOfReadingBackslashes) {
  // Quotes, backslashes, dollar signs and the dollar quote's tag, semicolons, control characters
  // and multi-byte UTF-8.
  const std::vector<std::string> pieces = {"'", "\\", "\\'", "''", "\"", "$$", ";", "--", "\n", "\t", "\x01",
                                           "a", "Z", " ", "中", "文", "é", "😀", "E'", "\\\\", "$xn$", "$xn", "$",
                                           "xn", "$x"};
  std::mt19937_64 rng(20261127);
  for (const char* conforming : {"on", "off"}) {
    pqxx::work w(*conn_);
    w.exec(std::string("SET LOCAL standard_conforming_strings = ") + conforming);
    Deferred d;
    std::vector<std::string> texts;
    for (int n = 0; n < 300; ++n) {
      std::string t;
      for (auto k = rng() % 12; k > 0; --k) t += pieces[rng() % pieces.size()];
      texts.push_back(t);
      d.add(w, "t_add", n, t, std::string("null"));
    }
    d.flush(w);
    for (int n = 0; n < 300; ++n)
      ASSERT_EQ(w.exec_prepared("t_get", n)[0][0].as<std::string>(), texts[static_cast<std::size_t>(n)])
          << "standard_conforming_strings " << conforming << ", text " << n;
  }
  pqxx::work w(*conn_);
  Deferred d;
  EXPECT_THROW(d.add(w, "t_add", 1, std::string("a\0b", 3), std::string("null")), std::invalid_argument);
}

}  // namespace
}  // namespace xiaonao::itest

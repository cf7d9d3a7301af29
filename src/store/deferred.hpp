#pragma once
// Private to the store module: fewer round trips inside a transaction. Statements whose result
// is not needed wait and go to the server together with the next statement whose result is,
// as one multi-statement query of `EXECUTE name(literal, ...)` calls of the connection's
// prepared statements (so they keep their generic plans). The server runs them one after the
// other, each with a snapshot of its own taken when it starts (READ COMMITTED), exactly as
// separate calls would; an error stops the rest and is thrown as before.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <pqxx/pqxx>

namespace xiaonao::store::detail {

class Deferred {
 public:
  /// Queues `EXECUTE name(args...)`: strings become quoted literals, integers numbers.
  template <class... Args>
  void add(pqxx::transaction_base& w, const char* name, const Args&... args) {
    append_call(w, name, args...);
    sql_ += ";\n";
  }

  /// Sends what is queued and `EXECUTE name(args...)` in one round trip; the latter's result.
  template <class... Args>
  pqxx::result exec(pqxx::transaction_base& w, const char* name, const Args&... args) {
    append_call(w, name, args...);
    std::string q;
    q.swap(sql_);
    return w.exec(q);
  }

  /// Queues a statement as it is (BEGIN, COMMIT).
  void add_sql(const char* sql) {
    sql_ += sql;
    sql_ += ";\n";
  }

  /// Sends what is queued and `sql` in one round trip; the latter's result.
  pqxx::result exec_sql(pqxx::transaction_base& w, const char* sql) {
    std::string q;
    q.swap(sql_);
    q += sql;
    return w.exec(q);
  }

  /// Sends what is queued, if anything.
  void flush(pqxx::transaction_base& w) {
    if (sql_.empty()) return;
    std::string q;
    q.swap(sql_);
    w.exec(q);
  }

 private:
  template <class... Args>
  void append_call(pqxx::transaction_base& w, const char* name, const Args&... args) {
    // An SQL EXECUTE needs the statement on the server: libpqxx prepares lazily.
    w.conn().prepare_now(name);
    sql_ += "EXECUTE ";
    sql_ += name;
    if constexpr (sizeof...(Args) > 0) {
      bool first = true;
      sql_ += '(';
      ((sql_ += first ? "" : ", ", first = false, arg(w, args)), ...);
      sql_ += ')';
    }
  }
  // A text as a literal: dollar-quoted ($xn$…$xn$), the text as it is, unless the tag could end
  // it early; then as an escape string (E'…', each quote and backslash doubled). Either reads
  // the same whatever standard_conforming_strings says. libpqxx's quote (PQescapeStringConn)
  // copies and checks every character, and cost a tenth of the intake writer's CPU on the
  // batch's JSON parameters; these texts are valid UTF-8 (validated input, written as JSON), and
  // the server checks the query's encoding anyway. A NUL byte cannot be in a text value.
  void arg(pqxx::transaction_base&, const std::string& s) {
    if (s.find('\0') != std::string::npos) throw std::invalid_argument("a text value with a NUL byte");
    if (s.find(kTag) == std::string::npos && !s.ends_with("$xn")) {
      sql_.append(kTag).append(s).append(kTag);
      return;
    }
    sql_ += "E'";
    for (const char c : s) {
      if (c == '\'' || c == '\\') sql_ += c;
      sql_ += c;
    }
    sql_ += '\'';
  }
  static constexpr const char* kTag = "$xn$";
  template <class T, std::enable_if_t<std::is_integral_v<T>, int> = 0>
  void arg(pqxx::transaction_base&, T v) {
    sql_ += std::to_string(v);
  }

  std::string sql_;
};

}  // namespace xiaonao::store::detail

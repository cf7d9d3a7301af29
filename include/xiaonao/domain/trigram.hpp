#pragma once
/// Trigram similarity exactly as PostgreSQL's pg_trgm computes `similarity(a, b)`, and an
/// in-memory index that finds the texts most similar to a query (docs/architecture.md,
/// "Reference data in memory"). Fusion's fuzzy address match uses it so that the answer needs
/// no round trip; integration tests compare every score with the database's own function.
///
/// pg_trgm (PostgreSQL 15, default build): a text is split into words of alphanumeric characters
/// (as the database's LC_CTYPE classifies them), each word lower-cased and padded with two
/// spaces in front and one behind; every run of three characters is one trigram, kept as its
/// three bytes when it is three bytes long and otherwise as three bytes of the pre-9.5 "legacy"
/// CRC-32 of its bytes. A text's trigrams are a set; similarity = shared / (|a| + |b| − shared)
/// in single precision, 0 when either set is empty.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xiaonao::domain::trigram {

/// Which characters are word characters and how they lower-case: the database's LC_CTYPE.
class CharRules {
 public:
  /// LC_CTYPE C or POSIX: ASCII letters and digits only; only ASCII letters lower-case.
  static CharRules ascii();
  /// Any other LC_CTYPE (for example C.UTF-8): the C library's rules under that locale. Empty
  /// when this machine does not have the locale (the caller then leaves the match to SQL).
  static std::optional<CharRules> of_locale(const std::string& ctype);

  bool is_word(char32_t cp) const;
  char32_t lower(char32_t cp) const;

 private:
  std::shared_ptr<void> locale_;  ///< a locale_t; null: ascii()
};

/// A text's trigrams: sorted, unique, each three bytes in the low 24 bits.
using Set = std::vector<std::uint32_t>;

/// The trigrams of a UTF-8 text (invalid sequences are read the way PostgreSQL's pg_mblen
/// would step over them; the server only passes valid text).
Set trigrams(std::string_view text, const CharRules& rules);

/// pg_trgm's similarity of two trigram sets.
float similarity(const Set& a, const Set& b);

/// A match: the group of the best-matching text (by default the text's position in the order
/// of `Index::add`), and that text's similarity.
struct Match {
  std::size_t index;
  float score;
};

/// Texts indexed by their trigrams for the best-match search.
class Index {
 public:
  explicit Index(CharRules rules);
  /// Adds a text; its position is the number of texts added before it, and it is its own group.
  void add(std::string_view text);
  /// Adds a text in `group`: several texts of one thing (an address and its aliases) score as
  /// the thing, with the best of their similarities.
  void add(std::string_view text, std::size_t group);
  /// Builds the inverted lists; call once, after the last `add` and before `best`.
  void build();
  /// The at most `limit` groups most similar to `query` (a group's similarity is its best
  /// text's) whose similarity (as a double) is at least `floor`: best first, equal scores by
  /// group. Exact: the same answer as computing `similarity` against every text, found through
  /// the rarer trigrams' lists.
  std::vector<Match> best(std::string_view query, std::size_t limit, double floor) const;
  std::size_t size() const { return starts_.empty() ? 0 : starts_.size() - 1; }
  const CharRules& rules() const { return rules_; }
  /// The text at position i (valid while the index lives; stable after build()).
  std::string_view text(std::size_t i) const;
  /// pg_trgm's similarity of the text at position i to a query's trigrams.
  float score(const Set& query, std::size_t i) const;

 private:
  CharRules rules_;
  std::string arena_;                        ///< the texts, back to back
  std::vector<std::uint32_t> starts_{0};     ///< text i is arena_[starts_[i], starts_[i+1])
  std::vector<std::uint32_t> sizes_;         ///< |trigrams(text i)|
  std::vector<std::uint32_t> groups_;        ///< the group of text i
  std::vector<std::uint64_t> pending_;       ///< (trigram << 32 | text) until build()
  std::vector<std::uint32_t> codes_;         ///< distinct trigrams, ascending
  std::vector<std::uint32_t> list_starts_;   ///< list of codes_[k] is postings_[list_starts_[k], [k+1])
  std::vector<std::uint32_t> postings_;      ///< text positions, ascending within a list
};

}  // namespace xiaonao::domain::trigram

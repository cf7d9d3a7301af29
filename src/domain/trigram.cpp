#include "xiaonao/domain/trigram.hpp"

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "xiaonao/domain/normalize.hpp"

namespace xiaonao::domain::trigram {
namespace {

// PostgreSQL's pg_crc32_table: the usual CRC-32 table (polynomial 0xEDB88320, reflected).
constexpr std::array<std::uint32_t, 256> crc_table = [] {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[n] = c;
  }
  return t;
}();

// The pre-9.5 "legacy" CRC that pg_trgm hashes long trigrams with: that table, but shifted
// left (the "normal" direction), as PostgreSQL's COMP_LEGACY_CRC32 does.
std::uint32_t legacy_crc32(const unsigned char* p, std::size_t n) {
  std::uint32_t crc = 0xFFFFFFFFu;
  while (n-- > 0) crc = crc_table[((crc >> 24) ^ *p++) & 0xFF] ^ (crc << 8);
  return crc ^ 0xFFFFFFFFu;
}

// pg_utf_mblen: the length of the UTF-8 sequence that starts with the byte at i (1 past the end).
std::size_t mblen_at(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 1;
  const auto c = static_cast<unsigned char>(s[i]);
  if ((c & 0x80) == 0) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

char32_t decode(std::string_view s, std::size_t i, std::size_t len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (len == 1 || i + len > s.size()) return b0;
  char32_t cp = len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

// pg_trgm's compact_trigram: three bytes as they are, anything longer as three CRC bytes (in
// memory order, which on this little-endian machine are the low three).
std::uint32_t compact(std::string_view s, std::size_t at, std::size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  const std::uint32_t v = len == 3 ? (p[0] | (p[1] << 8) | (static_cast<std::uint32_t>(p[2]) << 16))
                                   : legacy_crc32(p, len);
  return v & 0xFFFFFFu;
}

// pg_trgm's make_trigrams over one padded word.
void make_trigrams(std::string_view w, std::size_t charlen, Set& out) {
  const std::size_t bytelen = w.size();
  if (charlen < 3) return;
  if (bytelen > charlen) {
    std::size_t at = 0;
    std::size_t first = mblen_at(w, 0), middle = mblen_at(w, first), last = mblen_at(w, first + middle);
    while (at + first + middle + last <= bytelen) {
      out.push_back(compact(w, at, first + middle + last));
      at += first;
      first = middle;
      middle = last;
      last = mblen_at(w, at + first + middle);
    }
  } else {
    for (std::size_t at = 0; at + 2 < bytelen; ++at) out.push_back(compact(w, at, 3));
  }
}

void sort_unique(Set& s) {
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
}

}  // namespace

CharRules CharRules::ascii() { return CharRules{}; }

std::optional<CharRules> CharRules::of_locale(const std::string& ctype) {
  if (ctype == "C" || ctype == "POSIX") return ascii();
  locale_t loc = newlocale(LC_CTYPE_MASK, ctype.c_str(), static_cast<locale_t>(nullptr));
  if (loc == static_cast<locale_t>(nullptr)) return std::nullopt;
  CharRules r;
  r.locale_ = std::shared_ptr<void>(loc, [](void* l) { freelocale(static_cast<locale_t>(l)); });
  return r;
}

bool CharRules::is_word(char32_t cp) const {
  if (!locale_) return cp < 0x80 && std::isalnum(static_cast<unsigned char>(cp)) != 0;
  const auto loc = static_cast<locale_t>(locale_.get());
  // t_isalnum: a one-byte character by isalnum, a longer one by iswalnum.
  return cp < 0x80 ? isalnum_l(static_cast<int>(cp), loc) != 0 : iswalnum_l(static_cast<wint_t>(cp), loc) != 0;
}

char32_t CharRules::lower(char32_t cp) const {
  if (!locale_) return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
  return static_cast<char32_t>(towlower_l(static_cast<wint_t>(cp), static_cast<locale_t>(locale_.get())));
}

Set trigrams(std::string_view text, const CharRules& rules) {
  Set out;
  std::string word;
  const auto word_at = [&](std::size_t i) { return rules.is_word(decode(text, i, mblen_at(text, i))); };
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !word_at(i)) i += mblen_at(text, i);
    if (i >= text.size()) break;
    const std::size_t begin = i;
    std::size_t charlen = 0;
    while (i < text.size() && word_at(i)) {
      i += mblen_at(text, i);
      ++charlen;
    }
    word.assign("  ");
    for (std::size_t j = begin; j < i && j < text.size();) {
      const auto len = std::min(mblen_at(text, j), text.size() - j);
      const char32_t cp = decode(text, j, len);
      const char32_t lo = rules.lower(cp);
      if (lo == cp) {
        word.append(text.substr(j, len));
      } else {
        append_utf8(word, lo);
      }
      j += len;
    }
    word += ' ';
    make_trigrams(word, charlen + 3, out);
  }
  sort_unique(out);
  return out;
}

namespace {

std::size_t shared_count(const Set& a, const Set& b) {
  std::size_t n = 0;
  for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      ++n, ++i, ++j;
    }
  }
  return n;
}

// CALCSML in single precision, as pg_trgm's cnt_sml.
float calcsml(std::size_t shared, std::size_t a, std::size_t b) {
  return static_cast<float>(shared) / static_cast<float>(a + b - shared);
}

}  // namespace

float similarity(const Set& a, const Set& b) {
  if (a.empty() || b.empty()) return 0.0f;
  return calcsml(shared_count(a, b), a.size(), b.size());
}

Index::Index(CharRules rules) : rules_(std::move(rules)) {}

void Index::add(std::string_view t) { add(t, size()); }

void Index::add(std::string_view t, std::size_t group) {
  const auto i = static_cast<std::uint64_t>(size());
  groups_.push_back(static_cast<std::uint32_t>(group));
  arena_.append(t);
  starts_.push_back(static_cast<std::uint32_t>(arena_.size()));
  const auto set = trigrams(t, rules_);
  sizes_.push_back(static_cast<std::uint32_t>(set.size()));
  for (const auto c : set) pending_.push_back(static_cast<std::uint64_t>(c) << 32 | i);
}

void Index::build() {
  std::sort(pending_.begin(), pending_.end());
  postings_.reserve(pending_.size());
  for (const auto p : pending_) {
    const auto code = static_cast<std::uint32_t>(p >> 32);
    if (codes_.empty() || codes_.back() != code) {
      codes_.push_back(code);
      list_starts_.push_back(static_cast<std::uint32_t>(postings_.size()));
    }
    postings_.push_back(static_cast<std::uint32_t>(p));
  }
  list_starts_.push_back(static_cast<std::uint32_t>(postings_.size()));
  std::vector<std::uint64_t>().swap(pending_);
  arena_.shrink_to_fit();
}

std::string_view Index::text(std::size_t i) const {
  return std::string_view(arena_).substr(starts_[i], starts_[i + 1] - starts_[i]);
}

float Index::score(const Set& query, std::size_t i) const { return similarity(query, trigrams(text(i), rules_)); }

std::vector<Match> Index::best(std::string_view query, std::size_t limit, double floor) const {
  std::vector<Match> top;
  const Set q = trigrams(query, rules_);
  const std::size_t nq = q.size();
  if (nq == 0 || limit == 0 || size() == 0) return top;

  // The lists of the query's trigrams, longest first. A text's similarity is at most
  // shared / |q|, so a text that shares only the `skip` longest lists' trigrams (skip <
  // threshold · |q|, with a margin for rounding) scores below the threshold: candidates come
  // from the others. The threshold is the floor, or better the score that a text must beat to
  // enter the list, known early from a few texts of the rarest lists (the seeds): a slip in a
  // long address leaves it most of its rare trigrams, and then the lists of the county's and
  // the towns' names, which hold nearly every address, are not read at all.
  struct List {
    const std::uint32_t* begin;
    const std::uint32_t* end;
  };
  std::vector<List> lists;
  for (const auto c : q) {
    const auto it = std::lower_bound(codes_.begin(), codes_.end(), c);
    if (it == codes_.end() || *it != c) continue;
    const auto k = static_cast<std::size_t>(it - codes_.begin());
    lists.push_back({postings_.data() + list_starts_[k], postings_.data() + list_starts_[k + 1]});
  }
  std::sort(lists.begin(), lists.end(), [](const List& a, const List& b) { return a.end - a.begin > b.end - b.begin; });
  const auto before = [](const Match& a, const Match& b) {
    return a.score > b.score || (a.score == b.score && a.index < b.index);
  };
  // `top` holds each group once, with its best text's score so far. A text whose bound cannot
  // beat the last of a full `top` cannot change it: were its group in `top`, that group's
  // score is already at least the last one's.
  const auto offer = [&](const Match& m) {
    if (static_cast<double>(m.score) < floor) return;
    const auto same = std::find_if(top.begin(), top.end(), [&](const Match& t) { return t.index == m.index; });
    if (same != top.end()) {
      if (!before(m, *same)) return;
      top.erase(same);
    } else if (top.size() == limit) {
      if (!before(m, top.back())) return;
      top.pop_back();
    }
    top.insert(std::upper_bound(top.begin(), top.end(), m, before), m);
  };
  std::vector<std::uint32_t> seeds;
  constexpr std::size_t kSeeds = 48;
  for (auto l = lists.rbegin(); l != lists.rend() && seeds.size() < kSeeds; ++l) {
    for (auto p = l->begin; p != l->end && seeds.size() < kSeeds; ++p) seeds.push_back(*p);
  }
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  for (const auto t : seeds) offer({groups_[t], similarity(q, trigrams(text(t), rules_))});
  const double threshold = top.size() == limit ? std::max(floor, static_cast<double>(top.back().score)) : floor;
  std::size_t skip = 0;
  while (static_cast<double>(skip + 1) < threshold * static_cast<double>(nq) * (1.0 - 1e-6)) ++skip;
  skip = std::min(skip, lists.size());

  // Per thread, all zero between calls: how many of the scanned lists hold each text.
  thread_local std::vector<std::uint32_t> counts;
  if (counts.size() < size()) counts.resize(size(), 0);
  std::vector<std::uint32_t> touched;
  for (std::size_t l = skip; l < lists.size(); ++l) {
    for (auto p = lists[l].begin; p != lists[l].end; ++p) {
      if (counts[*p]++ == 0) touched.push_back(*p);
    }
  }
  std::vector<std::vector<std::uint32_t>> by_count(nq + 1);
  for (const auto t : touched) {
    by_count[std::min<std::size_t>(counts[t], nq)].push_back(t);
    counts[t] = 0;
  }

  // A text is scored exactly only when its bound (all skipped trigrams shared too) could
  // still place it; best first by (score desc, position asc).
  for (std::size_t n = nq; n >= 1; --n) {
    const std::size_t reach = std::min(n + skip, nq);
    const float bucket_bound = calcsml(reach, nq, reach);
    if (static_cast<double>(bucket_bound) < floor) break;
    if (top.size() == limit && bucket_bound < top.back().score) break;
    for (const auto t : by_count[n]) {
      const std::size_t size = sizes_[t];
      const Match bound{groups_[t], calcsml(std::min(reach, size), nq, size)};
      if (static_cast<double>(bound.score) < floor) continue;
      if (top.size() == limit && !before(bound, top.back())) continue;
      if (std::binary_search(seeds.begin(), seeds.end(), t)) continue;  // scored already
      offer({groups_[t], similarity(q, trigrams(text(t), rules_))});
    }
  }
  return top;
}

}  // namespace xiaonao::domain::trigram

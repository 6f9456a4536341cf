// SPDX-License-Identifier: EUPL-1.2
// Value normalisers (ICU for Unicode NFC and case mappings) and outbound
// value formats.
#include "attributes/internal.hpp"

#include <array>
#include <cctype>
#include <climits>

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include "interkonto/attributes.hpp"

namespace interkonto::attributes {

namespace {

// UTF-8 -> UTF-16; nullopt for ill-formed UTF-8.
std::optional<icu::UnicodeString> to_unicode(std::string_view s) {
  if (s.size() > static_cast<std::size_t>(INT32_MAX / 2)) return std::nullopt;
  const auto n = static_cast<int32_t>(s.size());
  if (n == 0) return icu::UnicodeString();
  UErrorCode status = U_ZERO_ERROR;
  int32_t length = 0;
  u_strFromUTF8(nullptr, 0, &length, s.data(), n, &status); // preflight
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) return std::nullopt;
  icu::UnicodeString out;
  UChar *buffer = out.getBuffer(length);
  if (buffer == nullptr) return std::nullopt;
  status = U_ZERO_ERROR;
  int32_t written = 0;
  u_strFromUTF8(buffer, length, &written, s.data(), n, &status);
  out.releaseBuffer(U_SUCCESS(status) ? written : 0);
  if (U_FAILURE(status)) return std::nullopt;
  return out;
}

std::string to_utf8(const icu::UnicodeString &u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

std::optional<std::string> unicode_trim(std::string_view value) {
  auto u = to_unicode(value);
  if (!u) return std::nullopt;
  int32_t begin = 0;
  int32_t end = u->length();
  while (begin < end && u_isUWhiteSpace(u->char32At(begin))) begin = u->moveIndex32(begin, 1);
  while (end > begin) {
    const int32_t prev = u->moveIndex32(end, -1);
    if (!u_isUWhiteSpace(u->char32At(prev))) break;
    end = prev;
  }
  return to_utf8(u->tempSubStringBetween(begin, end));
}

std::optional<std::string> nfc(std::string_view value) {
  auto u = to_unicode(value);
  if (!u) return std::nullopt;
  // ICU creates the instance lazily with its own (uninstrumented) atomics;
  // a function-local static makes the one-time set-up visible to TSan too.
  static const icu::Normalizer2 *const n = [] {
    UErrorCode s = U_ZERO_ERROR;
    const icu::Normalizer2 *inst = icu::Normalizer2::getNFCInstance(s);
    return U_SUCCESS(s) ? inst : nullptr;
  }();
  if (n == nullptr) return std::nullopt;
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString out = n->normalize(*u, status);
  if (U_FAILURE(status)) return std::nullopt;
  return to_utf8(out);
}

enum class Case { upper, lower, title, fold };

std::optional<std::string> change_case(std::string_view value, Case c) {
  static const icu::Locale &root = icu::Locale::getRoot(); // once, see nfc()
  auto u = to_unicode(value);
  if (!u) return std::nullopt;
  switch (c) {
  case Case::upper:
    u->toUpper(root);
    break;
  case Case::lower:
    u->toLower(root);
    break;
  case Case::title:
    u->toTitle(nullptr, root);
    break;
  case Case::fold:
    u->foldCase();
    break;
  }
  if (u->isBogus()) return std::nullopt;
  return to_utf8(*u);
}

std::string_view trim_ascii(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int number(std::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

bool leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

std::optional<std::string> make_date(int y, int m, int d) {
  static constexpr std::array<int, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return std::nullopt; // eID partial dates: 1990-00-00
  const int max = days[static_cast<std::size_t>(m - 1)] + (m == 2 && leap(y) ? 1 : 0);
  if (d > max) return std::nullopt;
  std::array<char, 11> buf{};
  buf[0] = static_cast<char>('0' + y / 1000);
  buf[1] = static_cast<char>('0' + y / 100 % 10);
  buf[2] = static_cast<char>('0' + y / 10 % 10);
  buf[3] = static_cast<char>('0' + y % 10);
  buf[4] = '-';
  buf[5] = static_cast<char>('0' + m / 10);
  buf[6] = static_cast<char>('0' + m % 10);
  buf[7] = '-';
  buf[8] = static_cast<char>('0' + d / 10);
  buf[9] = static_cast<char>('0' + d % 10);
  return std::string(buf.data(), 10);
}

// An xs:date / xs:dateTime time-zone suffix: Z or +hh:mm / -hh:mm.
bool timezone_suffix(std::string_view s) {
  if (s == "Z") return true;
  return s.size() == 6 && (s[0] == '+' || s[0] == '-') && digits(s.substr(1, 2)) && s[3] == ':' &&
         digits(s.substr(4, 2));
}

// YYYY-MM-DD, YYYY-MM-DD with a time zone (xs:date), YYYY-MM-DDThh:mm:ss...
// (xs:dateTime), YYYYMMDD, DD.MM.YYYY (day and month may have one digit).
std::optional<std::string> date(std::string_view value) {
  const std::string_view v = trim_ascii(value);
  if (v.size() >= 10 && digits(v.substr(0, 4)) && v[4] == '-' && digits(v.substr(5, 2)) && v[7] == '-' &&
      digits(v.substr(8, 2))) {
    const std::string_view rest = v.substr(10);
    const bool ok = rest.empty() || timezone_suffix(rest) ||
                    (rest.size() >= 9 && rest[0] == 'T' && digits(rest.substr(1, 2)) && rest[3] == ':' &&
                     digits(rest.substr(4, 2)) && rest[6] == ':' && digits(rest.substr(7, 2)));
    if (!ok) return std::nullopt;
    return make_date(number(v.substr(0, 4)), number(v.substr(5, 2)), number(v.substr(8, 2)));
  }
  if (v.size() == 8 && digits(v))
    return make_date(number(v.substr(0, 4)), number(v.substr(4, 2)), number(v.substr(6, 2)));
  const auto dot1 = v.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : v.find('.', dot1 + 1);
  if (dot2 != std::string_view::npos) {
    const std::string_view d = v.substr(0, dot1);
    const std::string_view m = v.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view y = v.substr(dot2 + 1);
    if (digits(d) && d.size() <= 2 && digits(m) && m.size() <= 2 && digits(y) && y.size() == 4)
      return make_date(number(y), number(m), number(d));
  }
  return std::nullopt;
}

// ISO 3166-1 alpha-2, upper case; the eID writes Germany as "D".
std::optional<std::string> country(std::string_view value) {
  std::string v(trim_ascii(value));
  for (char &c : v) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return std::nullopt;
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (v == "D") return std::string("DE");
  if (v.size() != 2) return std::nullopt;
  return v;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ISO 5218 (0 not known, 1 male, 2 female, 9 not applicable); the eIDAS
// words Male / Female / Unspecified map to 1 / 2 / 0.
std::optional<std::string> gender(std::string_view value) {
  const std::string v = lower_ascii(trim_ascii(value));
  if (v == "0" || v == "1" || v == "2" || v == "9") return v;
  if (v == "male") return std::string("1");
  if (v == "female") return std::string("2");
  if (v == "unspecified") return std::string("0");
  return std::nullopt;
}

struct NormalizerName {
  std::string_view name;
  Normalizer n;
};
constexpr std::array<NormalizerName, 10> kNormalizers{{
    {"trim", Normalizer::trim},
    {"nfc", Normalizer::nfc},
    {"date", Normalizer::date},
    {"country", Normalizer::country},
    {"upper", Normalizer::upper},
    {"lower", Normalizer::lower},
    {"titlecase", Normalizer::titlecase},
    {"casefold", Normalizer::casefold},
    {"trust_level", Normalizer::trust_level},
    {"gender", Normalizer::gender},
}};

struct FormatName {
  std::string_view name;
  ValueFormat f;
};
constexpr std::array<FormatName, 8> kFormats{{
    {"as-is", ValueFormat::as_is},
    {"canonical", ValueFormat::trust_canonical},
    {"stork", ValueFormat::trust_stork},
    {"eidas", ValueFormat::trust_eidas},
    {"german", ValueFormat::trust_german},
    {"akdb", ValueFormat::trust_akdb},
    {"elster", ValueFormat::trust_elster},
    {"eidas-gender", ValueFormat::eidas_gender},
}};

} // namespace

std::optional<Normalizer> parse_normalizer(std::string_view name) {
  for (const auto &n : kNormalizers)
    if (n.name == name) return n.n;
  return std::nullopt;
}

std::string_view normalizer_name(Normalizer n) noexcept {
  for (const auto &e : kNormalizers)
    if (e.n == n) return e.name;
  return "?";
}

std::optional<std::string> apply(Normalizer n, std::string_view value) {
  switch (n) {
  case Normalizer::trim:
    return unicode_trim(value);
  case Normalizer::nfc:
    return nfc(value);
  case Normalizer::date:
    return date(value);
  case Normalizer::country:
    return country(value);
  case Normalizer::upper:
    return change_case(value, Case::upper);
  case Normalizer::lower:
    return change_case(value, Case::lower);
  case Normalizer::titlecase:
    return change_case(value, Case::title);
  case Normalizer::casefold:
    return change_case(value, Case::fold);
  case Normalizer::trust_level:
    if (auto l = parse_trust_level(value)) return std::string(to_string(*l));
    return std::nullopt;
  case Normalizer::gender:
    return gender(value);
  }
  return std::nullopt;
}

std::optional<ValueFormat> parse_value_format(std::string_view name) {
  for (const auto &f : kFormats)
    if (f.name == name) return f.f;
  return std::nullopt;
}

std::optional<std::string> format_value(ValueFormat f, std::string_view value) {
  auto trust = [&](TrustVocabulary voc) -> std::optional<std::string> {
    const auto l = parse_trust_level(value);
    if (!l) return std::nullopt;
    const std::string_view s = to_string(*l, voc);
    if (s.empty()) return std::nullopt;
    return std::string(s);
  };
  switch (f) {
  case ValueFormat::as_is:
    return std::string(value);
  case ValueFormat::trust_canonical:
    return trust(TrustVocabulary::canonical);
  case ValueFormat::trust_stork:
    return trust(TrustVocabulary::stork);
  case ValueFormat::trust_eidas:
    return trust(TrustVocabulary::eidas);
  case ValueFormat::trust_german:
    return trust(TrustVocabulary::german);
  case ValueFormat::trust_akdb:
    return trust(TrustVocabulary::akdb);
  case ValueFormat::trust_elster: {
    auto w = trust(TrustVocabulary::german);
    if (w && *w == "substantiell") return std::string("substanziell");
    return w;
  }
  case ValueFormat::eidas_gender: {
    const auto g = gender(value);
    if (!g) return std::nullopt;
    if (*g == "1") return std::string("Male");
    if (*g == "2") return std::string("Female");
    return std::string("Unspecified");
  }
  }
  return std::nullopt;
}

std::string strip_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') out += c;
  return out;
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    char32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) ok = false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (ok) {
      // overlong forms, surrogates, beyond U+10FFFF
      if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
          (cp >= 0xD800 && cp <= 0xDFFF))
        ok = false;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

} // namespace interkonto::attributes

namespace interkonto {

std::optional<std::string> normalize_attribute_value(std::string_view value, std::string_view normalizer) {
  const auto n = attributes::parse_normalizer(normalizer);
  if (!n)
    throw Error(ErrorCode::config_invalid,
                "unknown normaliser '" + std::string(normalizer.substr(0, 64)) + "'");
  return attributes::apply(*n, value);
}

} // namespace interkonto

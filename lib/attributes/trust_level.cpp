// SPDX-License-Identifier: EUPL-1.2
// Trust levels in every vocabulary of the Servicekonto profile.
#include "interkonto/attributes.hpp"
#include "attributes/internal.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

namespace interkonto {

namespace {

std::string_view trim_ascii(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Word {
  std::string_view text; // lower case
  TrustLevel level;
};

constexpr std::array<Word, 18> kWords{{
    // canonical
    {"basic", TrustLevel::basic},
    {"low", TrustLevel::low},
    {"substantial", TrustLevel::substantial},
    {"high", TrustLevel::high},
    // STORK class refs
    {"stork-qaa-level-1", TrustLevel::basic},
    {"stork-qaa-level-2", TrustLevel::low},
    {"stork-qaa-level-3", TrustLevel::substantial},
    {"stork-qaa-level-4", TrustLevel::high},
    // eIDAS levels of assurance
    {"http://eidas.europa.eu/loa/low", TrustLevel::low},
    {"http://eidas.europa.eu/loa/substantial", TrustLevel::substantial},
    {"http://eidas.europa.eu/loa/high", TrustLevel::high},
    // German words; akdb:TrustLevel values are the upper-case forms
    {"basisregistrierung", TrustLevel::basic},
    {"untergeordnet", TrustLevel::basic},
    {"niedrig", TrustLevel::low},
    {"normal", TrustLevel::low},
    {"substantiell", TrustLevel::substantial},
    {"substanziell", TrustLevel::substantial},
    {"hoch", TrustLevel::high},
}};

} // namespace

namespace attributes {

LevelScan scan_trust_level(const AuthnResult &result) {
  LevelScan scan;
  // A class ref that names no level (e.g. ...:ac:classes:PasswordProtectedTransport) is no level.
  if (result.authn_context_class_ref) scan.level = parse_trust_level(*result.authn_context_class_ref);
  for (const SamlAttribute &a : result.attributes) {
    if (strip_spaces(a.name) != trust_level_attribute) continue;
    for (const std::string &v : a.values) {
      const auto l = parse_trust_level(v);
      if (!l) {
        scan.unreadable = true; // a level nobody can read: unknown (fail closed)
        continue;
      }
      scan.level = scan.level ? std::min(*scan.level, *l) : *l; // the lower one counts
    }
  }
  return scan;
}

} // namespace attributes

std::optional<TrustLevel> parse_trust_level(std::string_view text) {
  const std::string v = lower_ascii(trim_ascii(text));
  if (v.empty()) return std::nullopt;
  for (const Word &w : kWords)
    if (v == w.text) return w.level;
  return std::nullopt;
}

std::string_view to_string(TrustLevel level, TrustVocabulary vocabulary) noexcept {
  const auto i = static_cast<std::size_t>(to_stork_level(level) - 1);
  static constexpr std::array<std::string_view, 4> canonical{"basic", "low", "substantial", "high"};
  static constexpr std::array<std::string_view, 4> stork{"STORK-QAA-Level-1", "STORK-QAA-Level-2",
                                                         "STORK-QAA-Level-3", "STORK-QAA-Level-4"};
  static constexpr std::array<std::string_view, 4> eidas{"", "http://eidas.europa.eu/LoA/low",
                                                         "http://eidas.europa.eu/LoA/substantial",
                                                         "http://eidas.europa.eu/LoA/high"};
  static constexpr std::array<std::string_view, 4> german{"untergeordnet", "niedrig", "substantiell", "hoch"};
  static constexpr std::array<std::string_view, 4> akdb{"UNTERGEORDNET", "NORMAL", "SUBSTANTIELL", "HOCH"};
  switch (vocabulary) {
  case TrustVocabulary::canonical:
    return canonical[i];
  case TrustVocabulary::stork:
    return stork[i];
  case TrustVocabulary::eidas:
    return eidas[i];
  case TrustVocabulary::german:
    return german[i];
  case TrustVocabulary::akdb:
    return akdb[i];
  }
  return canonical[i];
}

int to_stork_level(TrustLevel level) noexcept {
  switch (level) {
  case TrustLevel::basic:
    return 1;
  case TrustLevel::low:
    return 2;
  case TrustLevel::substantial:
    return 3;
  case TrustLevel::high:
    return 4;
  }
  return 1;
}

std::optional<TrustLevel> trust_level_from_stork(int level) noexcept {
  switch (level) {
  case 1:
    return TrustLevel::basic;
  case 2:
    return TrustLevel::low;
  case 3:
    return TrustLevel::substantial;
  case 4:
    return TrustLevel::high;
  default:
    return std::nullopt;
  }
}

std::optional<TrustLevel> trust_level_of(const AuthnResult &result) {
  const attributes::LevelScan scan = attributes::scan_trust_level(result);
  if (scan.unreadable) return std::nullopt;
  return scan.level;
}

void require_trust_level(std::optional<TrustLevel> actual, TrustLevel minimum) {
  if (!actual)
    throw Error(ErrorCode::authn_context_insufficient,
                fmt::format("no trust level, {} required", to_string(minimum)));
  if (*actual < minimum)
    throw Error(ErrorCode::authn_context_insufficient,
                fmt::format("trust level {} below the required {}", to_string(*actual), to_string(minimum)));
}

} // namespace interkonto

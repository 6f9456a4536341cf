// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal pieces of the attribute mapping shared by its sources and the
// white-box tests: value normalisers, outbound value formats, built-in
// profile tables.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "interkonto/attributes.hpp"

namespace interkonto::attributes {

enum class Normalizer { trim, nfc, date, country, upper, lower, titlecase, casefold, trust_level, gender };

std::optional<Normalizer> parse_normalizer(std::string_view name);
std::string_view normalizer_name(Normalizer n) noexcept;
// nullopt when the value cannot be normalised (invalid UTF-8, a date that
// is no calendar date, a country that is no alpha-2 code, ...).
std::optional<std::string> apply(Normalizer n, std::string_view value);

// How an outbound rule writes its values.
enum class ValueFormat {
  as_is,
  trust_canonical,
  trust_stork,
  trust_eidas,
  trust_german,
  trust_akdb,
  trust_elster, // the German words as ELSTER spells them (substanziell)
  eidas_gender, // ISO 5218 0/1/2/9 -> Unspecified/Male/Female/Unspecified
};
std::optional<ValueFormat> parse_value_format(std::string_view name);
// nullopt: the value cannot be written in that format (dropped).
std::optional<std::string> format_value(ValueFormat f, std::string_view value);

// Removes every ASCII whitespace character (configured and received
// attribute Names: "urn:oid: 1.2.40..." is "urn:oid:1.2.40...").
std::string strip_spaces(std::string_view s);

// Valid UTF-8 with invalid sequences replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);

inline constexpr std::string_view name_format_uri = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
inline constexpr std::string_view name_format_basic = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";
inline constexpr std::string_view name_format_unspecified =
    "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";

// One row of a built-in profile: an inbound rule (saml_name -> canonical,
// normalisers) and the outbound rule back (canonical -> saml_name).
struct ProfileRow {
  std::string_view canonical;
  std::string_view saml_name;
  std::string_view name_format;
  std::string_view friendly_name;
  std::string_view normalizers; // comma-separated normaliser names
  ValueFormat outbound_format;
};

struct Profile {
  std::string_view name;
  std::span<const ProfileRow> rows;
};

std::span<const Profile> builtin_profile_table() noexcept;
const Profile *find_profile(std::string_view name) noexcept;

// The trust level of a login from its AuthnContextClassRef and the
// trust-level attribute; `unreadable` when that attribute has a value that
// names no level.
struct LevelScan {
  std::optional<TrustLevel> level;
  bool unreadable = false;
};
LevelScan scan_trust_level(const AuthnResult &result);

} // namespace interkonto::attributes

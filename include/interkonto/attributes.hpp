// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Attribute mapping: from the attribute vocabularies of the federation
// (Servicekonto OIDs, eIDAS URIs, ELSTER company names, anything an IdP
// sends) to one canonical set, value normalisation, trust levels, and the
// release policy per receiving SP. Configured in YAML (docs/attributes.md);
// the built-in profiles `servicekonto`, `eidas` and `elster-unternehmen`
// are usable by name.
//
// Canonical names are the "canonical name" column of the Servicekonto
// profile (`givenName`, `surname`, `birthdate`, `bPK2`, `trustLevel`, ...).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interkonto/error.hpp"
#include "interkonto/log.hpp"
#include "interkonto/sp.hpp"

namespace interkonto {

// ------------------------------------------------------------ trust levels

// Ordered: basic < low < substantial < high (STORK-QAA-Level-1..4).
enum class TrustLevel { basic = 1, low = 2, substantial = 3, high = 4 };

enum class TrustVocabulary {
  canonical, // basic, low, substantial, high
  stork,     // STORK-QAA-Level-1 .. STORK-QAA-Level-4
  eidas,     // http://eidas.europa.eu/LoA/low|substantial|high (nothing for basic)
  german,    // untergeordnet, niedrig, substantiell, hoch
  akdb,      // akdb:TrustLevel: UNTERGEORDNET, NORMAL, SUBSTANTIELL, HOCH
};

// Any vocabulary, surrounding whitespace ignored, case-insensitive:
// canonical names; STORK-QAA-Level-1..4; eIDAS LoA URIs; German words
// (Basisregistrierung/untergeordnet, niedrig/normal, substantiell/substanziell,
// hoch); akdb:TrustLevel values. nullopt for anything else.
std::optional<TrustLevel> parse_trust_level(std::string_view text);
// The level in a vocabulary; empty for `basic` in `eidas` (eIDAS has no such level).
std::string_view to_string(TrustLevel level,
                           TrustVocabulary vocabulary = TrustVocabulary::canonical) noexcept;
// 1..4.
int to_stork_level(TrustLevel level) noexcept;
// nullopt unless 1..4.
std::optional<TrustLevel> trust_level_from_stork(int level) noexcept;

// The SAML attribute carrying the trust level in the Servicekonto profile.
inline constexpr std::string_view trust_level_attribute = "urn:oid:1.2.40.0.10.2.1.1.261.94";

// The level of a login: AuthnContextClassRef (ignored when it names no
// known level) and every value of the trust-level attribute; the lowest one
// counts. A trust-level attribute value that names no level makes the level
// unknown (nullopt), as does the absence of both.
std::optional<TrustLevel> trust_level_of(const AuthnResult &result);

// Throws Error(authn_context_insufficient) unless `actual` is at least `minimum`
// (an unknown level never is).
void require_trust_level(std::optional<TrustLevel> actual, TrustLevel minimum);

// ---------------------------------------------------------- normalisation

// Applies one value normaliser by name: trim, nfc, date (to YYYY-MM-DD),
// country (ISO 3166-1 alpha-2, eID "D" -> "DE"), upper, lower, titlecase,
// casefold, trust_level (to the canonical word), gender (eIDAS words to
// ISO 5218). nullopt when the value cannot be normalised (e.g. a partial
// date "1990-00-00"). Throws Error(config_invalid) for an unknown name.
std::optional<std::string> normalize_attribute_value(std::string_view value, std::string_view normalizer);

// --------------------------------------------------------------- mapping

struct MappedAttribute {
  std::string name;                      // canonical name
  std::vector<std::string> values;       // normalised; no duplicates; in order of arrival
  std::optional<TrustLevel> trust_level; // lowest akdb:TrustLevel of its source attributes
};

struct MappedAttributes {
  std::vector<MappedAttribute> attributes; // in order of first arrival
  // The login's level (see trust_level_of); also the value of the
  // `trustLevel` attribute (canonical word) when known.
  std::optional<TrustLevel> trust_level;

  const MappedAttribute *find(std::string_view name) const;
  // The values of a canonical name; empty when absent.
  std::vector<std::string> values(std::string_view name) const;
};

// Person identifiers: withheld by a release policy unless it sets
// `allow_person_identifiers` (bPK2, bPK, eidasPersonIdentifier, pseudonym,
// applicationId).
bool is_person_identifier(std::string_view canonical_name) noexcept;
inline constexpr std::string_view mailbox_handle_attribute = "mailboxHandle";

struct ReleaseResult {
  MappedAttributes attributes;       // what the receiving SP may see (the login's trust_level is kept)
  std::vector<std::string> withheld; // canonical names present but not released
};

// An immutable, validated mapping configuration; cheap to copy, safe to
// share between threads.
class AttributeMap {
public:
  // Throw Error(config_invalid) naming the problem (unknown key, profile,
  // normaliser, bad canonical or variable name, ...).
  static AttributeMap from_yaml(std::string_view yaml_text);
  static AttributeMap from_yaml_file(const std::string &path);
  // A built-in profile alone: "servicekonto", "eidas", "elster-unternehmen".
  static AttributeMap builtin(std::string_view profile);
  // "builtin:NAME" or the path of a YAML file.
  static AttributeMap load(std::string_view spec);
  static std::vector<std::string> builtin_profiles();

  // Maps the attributes of a validated login from the IdP `result.issuer`
  // (its own rules, then the "*" rules, then the profiles'). A value whose
  // normalisation fails is dropped and logged (warning, without the value).
  // Throws Error(attribute_missing, "missing: a, b") when a rule marked
  // `required` yields no value.
  MappedAttributes map_inbound(const AuthnResult &result, const LogSink &log = {}) const;

  // The canonical name a SAML attribute Name maps to for an IdP ("*": the
  // rules for all IdPs), nullopt when unmapped. The first rule wins.
  std::optional<std::string> canonical_name(std::string_view saml_name, std::string_view idp = "*") const;

  // The reverse of canonical_name: the SAML attribute Name the IdP's rules
  // in effect map to `canonical` (the first one configured), nullopt if none.
  std::optional<std::string> inbound_name(std::string_view canonical, std::string_view idp = "*") const;
  // The canonical name an outbound SAML attribute Name comes from (the
  // portal's vocabulary back to canonical), nullopt when no outbound rule has it.
  std::optional<std::string> canonical_from_outbound(std::string_view saml_name) const;

  // SAML attributes for an assertion to a portal (the outbound rules).
  // `trust_level` is the akdb:TrustLevel (AKDB words) where the rule asks for it.
  std::vector<SamlAttribute> map_outbound(const MappedAttributes &attributes) const;

  // Web-server (CGI/environment) variables: prefix + name, names of
  // [A-Z0-9_] only; several values joined with ';' (a ';' or '\' inside a
  // value escaped with '\'); control characters replaced by spaces.
  // `prefix` overrides the configured one (default "INTERKONTO_").
  std::vector<std::pair<std::string, std::string>>
  to_env(const MappedAttributes &attributes, std::optional<std::string_view> prefix = std::nullopt) const;

  // One JSON object: name -> array of strings (canonical names unless the
  // outbound json rules rename them).
  std::string to_json(const MappedAttributes &attributes) const;

  // Applies the release policy for `sp_entity_id` (or the "*" policy; no
  // policy: nothing is released). Only allowed names pass; person
  // identifiers and the mailbox handle only when the policy says so; when
  // `requested` is not empty, only the names in it. Throws
  // Error(attribute_missing, "missing: a, b") when a required attribute
  // (among those that would be released) has no value.
  ReleaseResult release(const MappedAttributes &attributes, std::string_view sp_entity_id,
                        const std::vector<std::string> &requested = {}) const;

private:
  struct Impl;
  explicit AttributeMap(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

} // namespace interkonto

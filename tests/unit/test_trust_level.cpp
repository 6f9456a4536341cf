// SPDX-License-Identifier: EUPL-1.2
// Trust levels: the ordered type, every vocabulary of the Servicekonto
// profile (STORK, eIDAS, German words, akdb:TrustLevel), the level of a
// login and the requested minimum.
#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "interkonto/attributes.hpp"
#include "interkonto/sp.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;

namespace {

AuthnResult login(std::optional<std::string> class_ref, std::vector<std::string> level_values = {},
                  bool with_attribute = false) {
  AuthnResult r;
  r.issuer = "https://servicekonto.nrw.example/idp";
  r.authn_context_class_ref = std::move(class_ref);
  if (with_attribute || !level_values.empty()) {
    SamlAttribute a;
    a.name = std::string(trust_level_attribute);
    a.name_format = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
    a.values = std::move(level_values);
    r.attributes.push_back(a);
  }
  return r;
}

} // namespace

TEST_CASE("trust levels are ordered basic < low < substantial < high", "[trust]") {
  CHECK(TrustLevel::basic < TrustLevel::low);
  CHECK(TrustLevel::low < TrustLevel::substantial);
  CHECK(TrustLevel::substantial < TrustLevel::high);
  CHECK_FALSE(TrustLevel::high < TrustLevel::substantial);
  CHECK(std::max(TrustLevel::low, TrustLevel::high) == TrustLevel::high);
  CHECK(std::min(TrustLevel::substantial, TrustLevel::basic) == TrustLevel::basic);
}

TEST_CASE("STORK-QAA-Level-1..4 parse and print", "[trust]") {
  CHECK(parse_trust_level("STORK-QAA-Level-1") == TrustLevel::basic);
  CHECK(parse_trust_level("STORK-QAA-Level-2") == TrustLevel::low);
  CHECK(parse_trust_level("STORK-QAA-Level-3") == TrustLevel::substantial);
  CHECK(parse_trust_level("STORK-QAA-Level-4") == TrustLevel::high);
  CHECK(parse_trust_level("  STORK-QAA-Level-3\n") == TrustLevel::substantial);
  CHECK_FALSE(parse_trust_level("STORK-QAA-Level-0"));
  CHECK_FALSE(parse_trust_level("STORK-QAA-Level-5"));
  CHECK_FALSE(parse_trust_level("STORK-QAA-Level-33"));
  CHECK(to_string(TrustLevel::basic, TrustVocabulary::stork) == "STORK-QAA-Level-1");
  CHECK(to_string(TrustLevel::high, TrustVocabulary::stork) == "STORK-QAA-Level-4");
  for (int n = 1; n <= 4; ++n) {
    const auto l = trust_level_from_stork(n);
    REQUIRE(l);
    CHECK(to_stork_level(*l) == n);
    CHECK(to_string(*l, TrustVocabulary::stork) == stork_level_uri(n)); // the SP's helper agrees
    CHECK(parse_stork_level(to_string(*l, TrustVocabulary::stork)) == n);
  }
  CHECK_FALSE(trust_level_from_stork(0));
  CHECK_FALSE(trust_level_from_stork(5));
}

TEST_CASE("eIDAS LoA URIs parse and print; eIDAS has no basic", "[trust]") {
  CHECK(parse_trust_level("http://eidas.europa.eu/LoA/low") == TrustLevel::low);
  CHECK(parse_trust_level("http://eidas.europa.eu/LoA/substantial") == TrustLevel::substantial);
  CHECK(parse_trust_level("http://eidas.europa.eu/LoA/high") == TrustLevel::high);
  CHECK_FALSE(parse_trust_level("http://eidas.europa.eu/LoA/medium"));
  CHECK_FALSE(parse_trust_level("http://eidas.europa.eu/LoA/"));
  CHECK(to_string(TrustLevel::low, TrustVocabulary::eidas) == "http://eidas.europa.eu/LoA/low");
  CHECK(to_string(TrustLevel::substantial, TrustVocabulary::eidas) ==
        "http://eidas.europa.eu/LoA/substantial");
  CHECK(to_string(TrustLevel::high, TrustVocabulary::eidas) == "http://eidas.europa.eu/LoA/high");
  CHECK(to_string(TrustLevel::basic, TrustVocabulary::eidas).empty());
}

TEST_CASE("German words parse case-insensitively, also substanziell", "[trust]") {
  CHECK(parse_trust_level("Basisregistrierung") == TrustLevel::basic);
  CHECK(parse_trust_level("untergeordnet") == TrustLevel::basic);
  CHECK(parse_trust_level("niedrig") == TrustLevel::low);
  CHECK(parse_trust_level("normal") == TrustLevel::low);
  CHECK(parse_trust_level("substantiell") == TrustLevel::substantial);
  CHECK(parse_trust_level("substanziell") == TrustLevel::substantial);
  CHECK(parse_trust_level("Substanziell") == TrustLevel::substantial);
  CHECK(parse_trust_level("hoch") == TrustLevel::high);
  CHECK(parse_trust_level("Hoch") == TrustLevel::high);
  CHECK_FALSE(parse_trust_level("mittel"));
  CHECK(to_string(TrustLevel::basic, TrustVocabulary::german) == "untergeordnet");
  CHECK(to_string(TrustLevel::low, TrustVocabulary::german) == "niedrig");
  CHECK(to_string(TrustLevel::substantial, TrustVocabulary::german) == "substantiell");
  CHECK(to_string(TrustLevel::high, TrustVocabulary::german) == "hoch");
}

TEST_CASE("akdb:TrustLevel values parse and print", "[trust]") {
  CHECK(parse_trust_level("UNTERGEORDNET") == TrustLevel::basic);
  CHECK(parse_trust_level("NORMAL") == TrustLevel::low);
  CHECK(parse_trust_level("SUBSTANTIELL") == TrustLevel::substantial);
  CHECK(parse_trust_level("HOCH") == TrustLevel::high);
  CHECK(to_string(TrustLevel::basic, TrustVocabulary::akdb) == "UNTERGEORDNET");
  CHECK(to_string(TrustLevel::low, TrustVocabulary::akdb) == "NORMAL");
  CHECK(to_string(TrustLevel::substantial, TrustVocabulary::akdb) == "SUBSTANTIELL");
  CHECK(to_string(TrustLevel::high, TrustVocabulary::akdb) == "HOCH");
}

TEST_CASE("canonical words parse and print; every vocabulary round-trips", "[trust]") {
  CHECK(parse_trust_level("basic") == TrustLevel::basic);
  CHECK(parse_trust_level("low") == TrustLevel::low);
  CHECK(parse_trust_level("substantial") == TrustLevel::substantial);
  CHECK(parse_trust_level("high") == TrustLevel::high);
  CHECK(to_string(TrustLevel::substantial) == "substantial");
  CHECK_FALSE(parse_trust_level(""));
  CHECK_FALSE(parse_trust_level("   "));
  CHECK_FALSE(parse_trust_level("3"));
  for (auto voc : {TrustVocabulary::canonical, TrustVocabulary::stork, TrustVocabulary::eidas,
                   TrustVocabulary::german, TrustVocabulary::akdb})
    for (auto l : {TrustLevel::basic, TrustLevel::low, TrustLevel::substantial, TrustLevel::high}) {
      const std::string_view s = to_string(l, voc);
      if (s.empty()) continue; // eIDAS basic
      CHECK(parse_trust_level(s) == l);
    }
}

TEST_CASE("the level of a login: class ref and trust-level attribute, the lower counts", "[trust]") {
  CHECK(trust_level_of(login("STORK-QAA-Level-3")) == TrustLevel::substantial);
  CHECK(trust_level_of(login(std::nullopt, {"STORK-QAA-Level-2"})) == TrustLevel::low);
  CHECK(trust_level_of(login("STORK-QAA-Level-4", {"STORK-QAA-Level-3"})) == TrustLevel::substantial);
  CHECK(trust_level_of(login("STORK-QAA-Level-2", {"STORK-QAA-Level-4"})) == TrustLevel::low);
  CHECK(trust_level_of(login("http://eidas.europa.eu/LoA/high")) == TrustLevel::high);
  // neither: none
  CHECK_FALSE(trust_level_of(login(std::nullopt)));
  // a class ref that names no level is no level
  CHECK_FALSE(trust_level_of(login("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")));
  CHECK(trust_level_of(login("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
                             {"STORK-QAA-Level-3"})) == TrustLevel::substantial);
  // a trust-level attribute nobody can read: unknown, fail closed
  CHECK_FALSE(trust_level_of(login("STORK-QAA-Level-4", {"STORK-QAA-Level-9"})));
}

TEST_CASE("trust_level_of agrees with the SP's effective_trust_level", "[trust]") {
  const std::vector<std::pair<std::optional<std::string>, std::vector<std::string>>> cases{
      {"STORK-QAA-Level-1", {}},
      {"STORK-QAA-Level-4", {"STORK-QAA-Level-2"}},
      {std::nullopt, {"STORK-QAA-Level-3"}},
      {"http://eidas.europa.eu/LoA/substantial", {}},
      {"http://eidas.europa.eu/LoA/high", {"STORK-QAA-Level-4"}},
      {std::nullopt, {}},
      {"something-else", {}},
      {"STORK-QAA-Level-3", {"garbage"}},
  };
  for (const auto &[ref, values] : cases) {
    const AuthnResult r = login(ref, values);
    const auto mine = trust_level_of(r);
    CHECK((mine ? to_stork_level(*mine) : 0) == effective_trust_level(r));
  }
}

TEST_CASE("a login below the requested minimum fails with authn_context_insufficient", "[trust]") {
  CHECK_NOTHROW(require_trust_level(TrustLevel::substantial, TrustLevel::substantial));
  CHECK_NOTHROW(require_trust_level(TrustLevel::high, TrustLevel::low));
  std::string detail;
  CHECK(code_of([] { require_trust_level(TrustLevel::low, TrustLevel::substantial); }, &detail) ==
        ErrorCode::authn_context_insufficient);
  CHECK_THAT(detail, Catch::Contains("low") && Catch::Contains("substantial"));
  CHECK(code_of([] { require_trust_level(std::nullopt, TrustLevel::basic); }) ==
        ErrorCode::authn_context_insufficient);
  CHECK(code_of([] {
          require_trust_level(trust_level_of(login("STORK-QAA-Level-4", {"STORK-QAA-Level-2"})),
                              TrustLevel::substantial);
        }) == ErrorCode::authn_context_insufficient);
}

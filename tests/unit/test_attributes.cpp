// SPDX-License-Identifier: EUPL-1.2
// Attribute mapping: normalisers, every rule kind, the built-in profiles
// (the whole Servicekonto OID table), merging, the trust level, outbound
// SAML / environment / JSON, and the release policy.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "interkonto/attributes.hpp"
#include "interkonto/sp.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;
using Values = std::vector<std::string>;

namespace {

constexpr const char *kIdp = "https://servicekonto.nrw.example/idp";
constexpr const char *kOtherIdp = "https://servicekonto.bayern.example/idp";
constexpr const char *kUri = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";

struct Login {
  AuthnResult r;
  explicit Login(std::optional<std::string> class_ref = "STORK-QAA-Level-3", std::string issuer = kIdp) {
    r.issuer = std::move(issuer);
    r.authn_context_class_ref = std::move(class_ref);
  }
  Login &add(std::string name, Values values, std::string trust = {}, std::string friendly = {}) {
    SamlAttribute a;
    a.name = std::move(name);
    a.name_format = kUri;
    a.friendly_name = std::move(friendly);
    a.trust_level = std::move(trust);
    a.values = std::move(values);
    r.attributes.push_back(std::move(a));
    return *this;
  }
};

struct Logs {
  std::vector<std::pair<LogLevel, std::string>> lines;
  LogSink sink() {
    return [this](LogLevel l, std::string_view m) { lines.emplace_back(l, std::string(m)); };
  }
  bool any_contains(std::string_view s) const {
    for (const auto &l : lines)
      if (l.second.find(s) != std::string::npos) return true;
    return false;
  }
};

std::optional<std::string> norm(std::string_view v, std::string_view n) {
  return normalize_attribute_value(v, n);
}

ErrorCode config_error(std::string_view yaml, std::string *detail = nullptr) {
  return code_of([&] { (void)AttributeMap::from_yaml(yaml); }, detail);
}

const std::string kDusseldorfNfd = "Du\xCC\x88sseldorf"; // u + COMBINING DIAERESIS
const std::string kDusseldorfNfc = "D\xC3\xBCsseldorf";  // ü

} // namespace

// ------------------------------------------------------------ normalisers

TEST_CASE("normaliser date: YYYY-MM-DD from several input forms", "[attributes]") {
  CHECK(norm("1990-03-15", "date") == "1990-03-15");
  CHECK(norm("19900315", "date") == "1990-03-15");
  CHECK(norm("15.03.1990", "date") == "1990-03-15");
  CHECK(norm("5.3.1990", "date") == "1990-03-05");
  CHECK(norm("1990-03-15T00:00:00Z", "date") == "1990-03-15");
  CHECK(norm("1990-03-15T23:10:00.123+02:00", "date") == "1990-03-15");
  CHECK(norm("1990-03-15Z", "date") == "1990-03-15");
  CHECK(norm("1990-03-15+01:00", "date") == "1990-03-15");
  CHECK(norm(" 1990-03-15 ", "date") == "1990-03-15");
  CHECK(norm("2024-02-29", "date") == "2024-02-29");
  // partial eID dates and non-dates are no dates
  CHECK_FALSE(norm("1990-00-00", "date"));
  CHECK_FALSE(norm("1990-03-00", "date"));
  CHECK_FALSE(norm("19900000", "date"));
  CHECK_FALSE(norm("2023-02-29", "date"));
  CHECK_FALSE(norm("1990-13-01", "date"));
  CHECK_FALSE(norm("31.04.1990", "date"));
  CHECK_FALSE(norm("15/03/1990", "date"));
  CHECK_FALSE(norm("1990-03-15garbage", "date"));
  CHECK_FALSE(norm("1990", "date"));
  CHECK_FALSE(norm("", "date"));
}

TEST_CASE("normaliser country: alpha-2 upper case, eID D becomes DE", "[attributes]") {
  CHECK(norm("D", "country") == "DE");
  CHECK(norm("d", "country") == "DE");
  CHECK(norm("DE", "country") == "DE");
  CHECK(norm("at", "country") == "AT");
  CHECK(norm(" FR ", "country") == "FR");
  CHECK_FALSE(norm("DEU", "country"));
  CHECK_FALSE(norm("1", "country"));
  CHECK_FALSE(norm("", "country"));
}

TEST_CASE("normaliser nfc composes decomposed text; ill-formed UTF-8 fails", "[attributes]") {
  CHECK(norm(kDusseldorfNfd, "nfc") == kDusseldorfNfc);
  CHECK(norm(kDusseldorfNfc, "nfc") == kDusseldorfNfc);
  CHECK(norm("plain", "nfc") == "plain");
  CHECK_FALSE(norm("bad \xFF byte", "nfc"));
  CHECK_FALSE(norm("\xC3", "nfc"));
}

TEST_CASE("normaliser trim removes Unicode white space at both ends only", "[attributes]") {
  CHECK(norm("  Clara \t\n", "trim") == "Clara");
  CHECK(norm("\xC2\xA0"
             "Clara Maria\xC2\xA0",
             "trim") == "Clara Maria"); // NBSP
  CHECK(norm("   ", "trim") == "");
  CHECK(norm("x", "trim") == "x");
}

TEST_CASE("normalisers for case: upper, lower, titlecase, casefold", "[attributes]") {
  CHECK(norm("M\xC3\x9CLLER-L\xC3\x9C"
             "DENSCHEIDT",
             "titlecase") == "M\xC3\xBCller-L\xC3\xBC"
                             "denscheidt");
  CHECK(norm("CLARA MARIA", "titlecase") == "Clara Maria");
  CHECK(norm("m\xC3\xBCller", "upper") == "M\xC3\x9CLLER");
  CHECK(norm("Stra\xC3\x9F"
             "e",
             "upper") == "STRASSE");
  CHECK(norm("M\xC3\x9CLLER", "lower") == "m\xC3\xBCller");
  CHECK(norm("Stra\xC3\x9F"
             "e",
             "casefold") == "strasse");
}

TEST_CASE("normalisers trust_level and gender", "[attributes]") {
  CHECK(norm("STORK-QAA-Level-3", "trust_level") == "substantial");
  CHECK(norm("hoch", "trust_level") == "high");
  CHECK_FALSE(norm("STORK-QAA-Level-7", "trust_level"));
  CHECK(norm("Female", "gender") == "2");
  CHECK(norm("Male", "gender") == "1");
  CHECK(norm("Unspecified", "gender") == "0");
  CHECK(norm("9", "gender") == "9");
  CHECK_FALSE(norm("3", "gender"));
  CHECK_FALSE(norm("w", "gender"));
}

TEST_CASE("an unknown normaliser is a configuration error", "[attributes]") {
  CHECK(code_of([] { (void)norm("x", "rot13"); }) == ErrorCode::config_invalid);
  std::string detail;
  CHECK(config_error("inbound:\n  \"*\":\n    - {from: a, to: b, normalize: [trim, rot13]}\n", &detail) ==
        ErrorCode::config_invalid);
  CHECK_THAT(detail, Catch::Contains("rot13"));
}

// ------------------------------------------------------ built-in profiles

TEST_CASE("the servicekonto profile covers the whole OID table of the reference", "[attributes]") {
  struct Row {
    const char *oid;
    const char *canonical;
    const char *in;
    const char *out;
  };
  // All 27 rows of the Servicekonto attribute table.
  const std::vector<Row> table{
      {"urn:oid:2.5.4.42", "givenName", " CLARA ", "CLARA"},
      {"urn:oid:2.5.4.4", "surname", "M\xC3\x9CLLER", "M\xC3\x9CLLER"},
      {"urn:oid:1.2.40.0.10.2.1.1.225566", "birthName", "SCHMIDT", "SCHMIDT"},
      {"urn:oid:0.9.2342.19200300.100.1.40", "personalTitle", "Dr.", "Dr."},
      {"urn:oid:1.3.6.1.4.1.33592.1.3.5", "gender", "2", "2"},
      {"urn:oid:1.2.40.0.10.2.1.1.55", "birthdate", "19850704", "1985-07-04"},
      {"urn:oid:1.3.6.1.5.5.7.9.2", "placeOfBirth", kDusseldorfNfd.c_str(), kDusseldorfNfc.c_str()},
      {"urn:oid:1.2.40.0.10.2.1.1.225577", "nationality", "D", "D"},
      {"urn:oid:2.5.4.16", "postalAddress",
       "Kaiserstra\xC3\x9F"
       "e 12",
       "Kaiserstra\xC3\x9F"
       "e 12"},
      {"urn:oid:2.5.4.17", "postalCode", "40213", "40213"},
      {"urn:oid:2.5.4.7", "localityName", "D\xC3\xBCsseldorf", "D\xC3\xBCsseldorf"},
      {"urn:oid:1.2.40.0.10.2.1.1.225599", "country", "D", "DE"},
      {"urn:oid:0.9.2342.19200300.100.1.3", "mail", "clara@example.org", "clara@example.org"},
      {"urn:oid:2.5.4.20", "telephoneNumber", "+49 211 1234567", "+49 211 1234567"},
      {"urn:oid:1.3.6.1.4.1.55605.70737875.1.1.1.7.1", "deMail", "clara@example.de-mail.de",
       "clara@example.de-mail.de"},
      {"urn:oid:1.2.40.0.10.2.1.1.552255", "documentType", "ID", "ID"},
      {"urn:oid:1.3.6.1.4.1.25484.494450.5", "communityId", "05111000", "05111000"},
      {"urn:oid:1.3.6.1.4.1.25484.494450.3", "bPK2", "n8sYpJ1wW0m4Gv5l2cXkqR7tHbF3eZaD9uVyLoQiTgE",
       "n8sYpJ1wW0m4Gv5l2cXkqR7tHbF3eZaD9uVyLoQiTgE"},
      {"urn:oid:1.2.40.0.10.2.1.1.149", "bPK", "old-bpk", "old-bpk"},
      {"urn:oid:1.2.40.0.10.2.1.1.261.94", "trustLevel", "STORK-QAA-Level-3", "substantial"},
      {"urn:oid:1.3.6.1.4.1.25484.494450.1", "profileVersion", "2020.2.1", "2020.2.1"},
      {"urn:oid:1.3.6.1.4.1.25484.494450.2", "authMethod", "eID", "eID"},
      {"urn:oid:1.3.6.1.4.1.25484.494450.10.1", "eidasIssuingCountry", "AT", "AT"},
      {"urn:oid:2.5.4.18", "mailboxHandle", "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
       "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
      {"urn:oid:1.3.6.1.4.1.25484.494450.4", "applicationId", "9b2c1e4a-0f1d-4c55-8f3e-2a6b7c8d9e0f",
       "9b2c1e4a-0f1d-4c55-8f3e-2a6b7c8d9e0f"},
      {"urn:oid:1.2.40.0.10.2.1.1.226699", "pseudonym", "p-123", "p-123"},
      {"urn:oid:1.3.6.1.4.1.25484.494450.7", "mfa", "TRUE", "true"},
  };
  REQUIRE(table.size() == 27);
  Login l("STORK-QAA-Level-4");
  for (const Row &row : table) l.add(row.oid, {row.in});
  const AttributeMap map = AttributeMap::builtin("servicekonto");
  const MappedAttributes m = map.map_inbound(l.r);
  CHECK(m.attributes.size() == 27);
  for (const Row &row : table) {
    INFO(row.canonical);
    CHECK(m.values(row.canonical) == Values{row.out});
    CHECK(map.canonical_name(row.oid) == std::string(row.canonical));
  }
  // the lower of class ref (Level-4) and attribute (Level-3)
  CHECK(m.trust_level == TrustLevel::substantial);
}

TEST_CASE("the eidas profile maps the natural-person URIs", "[attributes]") {
  const std::string np = "http://eidas.europa.eu/attributes/naturalperson/";
  Login l("http://eidas.europa.eu/LoA/high");
  l.add(np + "CurrentFamilyName", {"Garc\xC3\xAD"
                                   "a"})
      .add(np + "CurrentGivenName", {"Mar\xC3\xAD"
                                     "a"})
      .add(np + "DateOfBirth", {"1979-11-02"})
      .add(np + "PersonIdentifier", {"ES/DE/99999142H"})
      .add(np + "BirthName", {"L\xC3\xB3pez"})
      .add(np + "PlaceOfBirth", {"Sevilla"})
      .add(np + "CurrentAddress",
           {"PGVpZGFzOkxvY2F0b3JEZXNpZ25hdG9yPjIyPC9laWRhczpMb2NhdG9yRGVzaWduYXRvcj4="})
      .add(np + "Gender", {"Female"});
  const MappedAttributes m = AttributeMap::builtin("eidas").map_inbound(l.r);
  CHECK(m.values("surname") == Values{"Garc\xC3\xAD"
                                      "a"});
  CHECK(m.values("givenName") == Values{"Mar\xC3\xAD"
                                        "a"});
  CHECK(m.values("birthdate") == Values{"1979-11-02"});
  CHECK(m.values("eidasPersonIdentifier") == Values{"ES/DE/99999142H"});
  CHECK(m.values("birthName") == Values{"L\xC3\xB3pez"});
  CHECK(m.values("placeOfBirth") == Values{"Sevilla"});
  CHECK(m.values("eidasCurrentAddress") ==
        Values{"PGVpZGFzOkxvY2F0b3JEZXNpZ25hdG9yPjIyPC9laWRhczpMb2NhdG9yRGVzaWduYXRvcj4="});
  CHECK(m.values("gender") == Values{"2"});
  CHECK(m.trust_level == TrustLevel::high);
  CHECK(m.values("trustLevel") == Values{"high"});
  // the Servicekonto OIDs are not part of this profile
  CHECK_FALSE(AttributeMap::builtin("eidas").canonical_name("urn:oid:2.5.4.42"));
}

TEST_CASE("the elster-unternehmen profile maps the company account names", "[attributes]") {
  Login l(std::nullopt);
  l.add("Firmenname", {"Muster GmbH"})
      .add("Rechtsform", {"GmbH"})
      .add("StNr", {"5133081508159"})
      .add("Anschrift.PLZ", {"99084"})
      .add("ElsterVertrauensniveauAuthentifizierung", {"substanziell"});
  const AttributeMap map = AttributeMap::builtin("elster-unternehmen");
  const MappedAttributes m = map.map_inbound(l.r);
  CHECK(m.values("companyName") == Values{"Muster GmbH"});
  CHECK(m.values("legalForm") == Values{"GmbH"});
  CHECK(m.values("taxNumber") == Values{"5133081508159"});
  CHECK(m.values("postalCode") == Values{"99084"});
  CHECK(m.trust_level == TrustLevel::substantial);
  CHECK(m.values("trustLevel") == Values{"substantial"});
  // and back, in ELSTER's spelling
  bool found = false;
  for (const SamlAttribute &a : map.map_outbound(m))
    if (a.name == "ElsterVertrauensniveauAuthentifizierung") {
      found = true;
      CHECK(a.values == Values{"substanziell"});
    }
  CHECK(found);
}

TEST_CASE("built-in profiles by name; unknown ones are refused", "[attributes]") {
  CHECK(AttributeMap::builtin_profiles() == Values{"servicekonto", "eidas", "elster-unternehmen"});
  CHECK(code_of([] { (void)AttributeMap::builtin("bayernid"); }) == ErrorCode::config_invalid);
  CHECK(code_of([] { (void)AttributeMap::load("builtin:nope"); }) == ErrorCode::config_invalid);
  Login l;
  l.add("urn:oid:2.5.4.42", {"CLARA"});
  CHECK(AttributeMap::load("builtin:servicekonto").map_inbound(l.r).values("givenName") == Values{"CLARA"});
  std::string detail;
  CHECK(config_error("profiles: [servicekonto, bundid]\n", &detail) == ErrorCode::config_invalid);
  CHECK_THAT(detail, Catch::Contains("bundid") && Catch::Contains("servicekonto"));
}

// ---------------------------------------------------------- rule kinds

TEST_CASE("the YAML example of the issue loads and works", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
profiles: [servicekonto]          # built-ins to start from
inbound:                          # per IdP or "*"
  "*":
    - {from: "urn:oid:2.5.4.42", to: givenName, normalize: [trim, nfc]}
release:                          # per receiving SP
  "https://portal.thueringen.example/sp":
    allow: [givenName, surname, birthdate, postalAddress, postalCode, localityName, trustLevel]
    require: [givenName, surname]
)");
  Login l;
  l.add("urn:oid:2.5.4.42", {"Clara"})
      .add("urn:oid:2.5.4.4", {"M\xC3\xBCller"})
      .add("urn:oid:2.5.4.18", {"mbx"});
  const MappedAttributes m = map.map_inbound(l.r);
  const ReleaseResult rel = map.release(m, "https://portal.thueringen.example/sp");
  CHECK(rel.attributes.values("givenName") == Values{"Clara"});
  CHECK(rel.attributes.values("trustLevel") == Values{"substantial"});
  CHECK(rel.withheld == Values{"mailboxHandle"});
}

TEST_CASE("rules match the Name exactly, spaces in Names ignored, never the FriendlyName", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
inbound:
  "*":
    - {from: "urn:oid: 1.2.40.0.10.2.1.1.55", to: birthdate, normalize: [date]}
)");
  Login l;
  l.add("urn:oid:1.2.40.0.10.2.1.1.55", {"01.02.2003"})
      .add("urn:oid:9.9.9", {"X"}, {}, "birthdate")         // FriendlyName only
      .add("URN:OID:1.2.40.0.10.2.1.1.55", {"04.05.2006"}); // other case: another Name
  const MappedAttributes m = map.map_inbound(l.r);
  CHECK(m.values("birthdate") == Values{"2003-02-01"});
  // a received Name with a stray space still matches
  Login spaced;
  spaced.add("urn:oid: 1.2.40.0.10.2.1.1.55", {"2003-02-01"});
  CHECK(map.map_inbound(spaced.r).values("birthdate") == Values{"2003-02-01"});
}

TEST_CASE("per-IdP rules win over '*' rules, which win over the profiles'", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
profiles: [servicekonto]
inbound:
  "*":
    - {from: "urn:oid:2.5.4.42", to: givenName, normalize: [trim, nfc, titlecase]}
  "https://servicekonto.bayern.example/idp":
    - {from: "urn:oid:2.5.4.42", to: givenName, normalize: [lower]}
    - {from: "urn:oid:2.5.4.18", drop: true}
)");
  Login nrw("STORK-QAA-Level-3", kIdp);
  nrw.add("urn:oid:2.5.4.42", {"CLARA MARIA"})
      .add("urn:oid:2.5.4.4", {"M\xC3\x9CLLER"})
      .add("urn:oid:2.5.4.18", {"mbx-1"});
  const MappedAttributes a = map.map_inbound(nrw.r);
  CHECK(a.values("givenName") == Values{"Clara Maria"}); // "*" rule, not the profile's
  CHECK(a.values("surname") == Values{"M\xC3\x9CLLER"}); // profile rule: no case change
  CHECK(a.values("mailboxHandle") == Values{"mbx-1"});

  Login by("STORK-QAA-Level-3", kOtherIdp);
  by.add("urn:oid:2.5.4.42", {"CLARA MARIA"}).add("urn:oid:2.5.4.18", {"mbx-1"});
  const MappedAttributes b = map.map_inbound(by.r);
  CHECK(b.values("givenName") == Values{"clara maria"}); // the IdP's own rule
  CHECK(b.find("mailboxHandle") == nullptr);             // dropped for that IdP
  CHECK(map.canonical_name("urn:oid:2.5.4.18", kOtherIdp) == std::nullopt);
  CHECK(map.canonical_name("urn:oid:2.5.4.18") == std::string("mailboxHandle"));
}

TEST_CASE("normalize defaults to [trim, nfc]; an empty list keeps the value as sent", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
inbound:
  "*":
    - {from: "urn:x:a", to: localityName}
    - {from: "urn:x:b", to: placeOfBirth, normalize: []}
)");
  Login l;
  l.add("urn:x:a", {" " + kDusseldorfNfd + " "}).add("urn:x:b", {" " + kDusseldorfNfd + " "});
  const MappedAttributes m = map.map_inbound(l.r);
  CHECK(m.values("localityName") == Values{kDusseldorfNfc});
  CHECK(m.values("placeOfBirth") == Values{" " + kDusseldorfNfd + " "});
}

TEST_CASE("one source attribute can feed two canonical names; normalisers run in order", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
inbound:
  "*":
    - {from: "urn:x:c", to: country, normalize: [trim, country]}
    - {from: "urn:x:c", to: nationality, normalize: [trim, upper]}
    - {from: "urn:x:n", to: surname, normalize: [titlecase, upper]}
)");
  Login l;
  l.add("urn:x:c", {" d "}).add("urn:x:n", {"m\xC3\xBCller"});
  const MappedAttributes m = map.map_inbound(l.r);
  CHECK(m.values("country") == Values{"DE"});
  CHECK(m.values("nationality") == Values{"D"}); // ICAO code kept
  CHECK(m.values("surname") == Values{"M\xC3\x9CLLER"});
}

TEST_CASE("values from several source attributes merge without duplicates, in order", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
profiles: [servicekonto, eidas]
inbound:
  "*":
    - {from: "urn:x:legacy-mail", to: mail}
)");
  Login l;
  l.add("urn:oid:2.5.4.42", {"CLARA"})
      .add("urn:oid:0.9.2342.19200300.100.1.3", {"a@example.org", "b@example.org"})
      .add("http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName", {"CLARA", "Clara"})
      .add("urn:x:legacy-mail", {"b@example.org", " c@example.org", "a@example.org"});
  const MappedAttributes m = map.map_inbound(l.r);
  CHECK(m.values("givenName") == Values{"CLARA", "Clara"});
  CHECK(m.values("mail") == Values{"a@example.org", "b@example.org", "c@example.org"});
  REQUIRE(m.attributes.size() >= 2);
  CHECK(m.attributes[0].name == "givenName"); // order of first arrival
  CHECK(m.attributes[1].name == "mail");
}

TEST_CASE("a value that fails normalisation is dropped and logged without the value", "[attributes]") {
  Logs logs;
  Login l;
  l.add("urn:oid:1.2.40.0.10.2.1.1.55", {"1990-00-00", "1990-05-17"})
      .add("urn:oid:1.2.40.0.10.2.1.1.225599", {"Deutschland"});
  const MappedAttributes m = AttributeMap::builtin("servicekonto").map_inbound(l.r, logs.sink());
  CHECK(m.values("birthdate") == Values{"1990-05-17"});
  CHECK(m.find("country") == nullptr);
  CHECK(logs.any_contains("birthdate"));
  CHECK(logs.any_contains("country"));
  CHECK_FALSE(logs.any_contains("1990-00-00"));
  CHECK_FALSE(logs.any_contains("Deutschland"));
  bool warned = false;
  for (const auto &line : logs.lines) warned = warned || line.first == LogLevel::warning;
  CHECK(warned);
}

TEST_CASE("a required attribute that is missing or fails normalisation fails the mapping, naming it",
          "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
profiles: [servicekonto]
inbound:
  "*":
    - {from: "urn:oid:2.5.4.42", to: givenName, required: true}
    - {from: "urn:oid:2.5.4.4", to: surname, required: true}
    - {from: "urn:oid:1.2.40.0.10.2.1.1.55", to: birthdate, normalize: [date], required: true}
)");
  Login ok;
  ok.add("urn:oid:2.5.4.42", {"Clara"})
      .add("urn:oid:2.5.4.4", {"M"})
      .add("urn:oid:1.2.40.0.10.2.1.1.55", {"1990-01-02"});
  CHECK_NOTHROW(map.map_inbound(ok.r));

  Login bad;
  bad.add("urn:oid:2.5.4.42", {"Clara"}).add("urn:oid:1.2.40.0.10.2.1.1.55", {"1990-00-00"});
  std::string detail;
  CHECK(code_of([&] { (void)map.map_inbound(bad.r); }, &detail) == ErrorCode::attribute_missing);
  CHECK(detail == "missing: surname, birthdate");
  CHECK(to_string(ErrorCode::attribute_missing) == "attribute_missing");
}

TEST_CASE("the per-attribute akdb:TrustLevel is kept, the lowest of its sources", "[attributes]") {
  Login l;
  l.add("urn:oid:2.5.4.42", {"Clara"}, "HOCH")
      .add("urn:oid:0.9.2342.19200300.100.1.3", {"c@example.org"}, "NORMAL");
  const MappedAttributes m = AttributeMap::builtin("servicekonto").map_inbound(l.r);
  REQUIRE(m.find("givenName") != nullptr);
  CHECK(m.find("givenName")->trust_level == TrustLevel::high);
  CHECK(m.find("mail")->trust_level == TrustLevel::low);
}

// --------------------------------------------------------- trust level

TEST_CASE("trustLevel comes from the class ref and the attribute; the lower counts", "[attributes]") {
  const AttributeMap map = AttributeMap::builtin("servicekonto");
  {
    Login l("STORK-QAA-Level-4");
    l.add(std::string(trust_level_attribute), {"STORK-QAA-Level-2"});
    const MappedAttributes m = map.map_inbound(l.r);
    CHECK(m.trust_level == TrustLevel::low);
    CHECK(m.values("trustLevel") == Values{"low"});
  }
  {
    Login l("STORK-QAA-Level-3");
    const MappedAttributes m = map.map_inbound(l.r);
    CHECK(m.trust_level == TrustLevel::substantial);
    CHECK(m.values("trustLevel") == Values{"substantial"});
  }
  {
    Login l(std::nullopt);
    l.add("urn:oid:2.5.4.42", {"Clara"});
    const MappedAttributes m = map.map_inbound(l.r);
    CHECK_FALSE(m.trust_level);
    CHECK(m.find("trustLevel") == nullptr);
    CHECK(code_of([&] { require_trust_level(m.trust_level, TrustLevel::basic); }) ==
          ErrorCode::authn_context_insufficient);
  }
  {
    Logs logs;
    Login l("STORK-QAA-Level-4");
    l.add(std::string(trust_level_attribute), {"STORK-QAA-Level-8"});
    const MappedAttributes m = map.map_inbound(l.r, logs.sink());
    CHECK_FALSE(m.trust_level); // unreadable: none, fail closed
    CHECK(m.find("trustLevel") == nullptr);
    CHECK(logs.any_contains("trust"));
  }
  {
    // the trust-level attribute counts even for a map without the servicekonto profile
    Login l("STORK-QAA-Level-4");
    l.add(std::string(trust_level_attribute), {"STORK-QAA-Level-3"});
    CHECK(AttributeMap::builtin("eidas").map_inbound(l.r).trust_level == TrustLevel::substantial);
  }
}

TEST_CASE("a required trustLevel fails when the login has none", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
inbound:
  "*":
    - {from: "urn:oid:1.2.40.0.10.2.1.1.261.94", to: trustLevel, normalize: [trust_level], required: true}
)");
  Login none(std::nullopt);
  std::string detail;
  CHECK(code_of([&] { (void)map.map_inbound(none.r); }, &detail) == ErrorCode::attribute_missing);
  CHECK(detail == "missing: trustLevel");
  Login some("http://eidas.europa.eu/LoA/substantial");
  CHECK(map.map_inbound(some.r).values("trustLevel") == Values{"substantial"});
}

// ------------------------------------------------------------ outbound

TEST_CASE("outbound SAML: the servicekonto profile writes OIDs, uri format, STORK levels", "[attributes]") {
  const AttributeMap map = AttributeMap::builtin("servicekonto");
  Login l("STORK-QAA-Level-3");
  l.add("urn:oid:2.5.4.42", {"Clara"}).add("urn:oid:1.2.40.0.10.2.1.1.225599", {"D"});
  const std::vector<SamlAttribute> out = map.map_outbound(map.map_inbound(l.r));
  REQUIRE(out.size() == 3);
  CHECK(out[0].name == "urn:oid:2.5.4.42");
  CHECK(out[0].name_format == kUri);
  CHECK(out[0].friendly_name == "givenName");
  CHECK(out[0].values == Values{"Clara"});
  CHECK(out[0].trust_level.empty());
  CHECK(out[1].name == "urn:oid:1.2.40.0.10.2.1.1.225599");
  CHECK(out[1].values == Values{"DE"});
  CHECK(out[2].name == "urn:oid:1.2.40.0.10.2.1.1.261.94");
  CHECK(out[2].values == Values{"STORK-QAA-Level-3"});
}

TEST_CASE("outbound SAML rules: override, name formats, akdb:TrustLevel, value formats", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
profiles: [servicekonto, eidas]
outbound:
  profiles: [servicekonto, eidas]
  saml:
    - {from: givenName, name: "urn:oid:2.5.4.42", friendly_name: Vorname, akdb_trust_level: true}
    - {from: trustLevel, name: "urn:x:level", name_format: basic, value_format: german}
    - {from: gender, name: "http://eidas.europa.eu/attributes/naturalperson/Gender", value_format: eidas-gender}
    - {from: surname, name: Nachname, name_format: "urn:example:format"}
)");
  Login l("STORK-QAA-Level-4");
  l.add("urn:oid:2.5.4.42", {"Clara"}, "SUBSTANTIELL")
      .add("urn:oid:2.5.4.4", {"M"})
      .add("urn:oid:1.3.6.1.4.1.33592.1.3.5", {"1"})
      .add("http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier", {"DE/DE/123"});
  const std::vector<SamlAttribute> out = map.map_outbound(map.map_inbound(l.r));
  auto find = [&](std::string_view name) -> const SamlAttribute * {
    for (const auto &a : out)
      if (a.name == name) return &a;
    return nullptr;
  };
  REQUIRE(find("urn:oid:2.5.4.42") != nullptr);
  CHECK(find("urn:oid:2.5.4.42")->friendly_name == "Vorname");
  CHECK(find("urn:oid:2.5.4.42")->trust_level == "SUBSTANTIELL"); // from its own akdb:TrustLevel
  // the user's rule replaced the profiles' for givenName (no eIDAS CurrentGivenName)
  CHECK(find("http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName") == nullptr);
  REQUIRE(find("urn:x:level") != nullptr);
  CHECK(find("urn:x:level")->values == Values{"hoch"});
  CHECK(find("urn:x:level")->name_format == "urn:oasis:names:tc:SAML:2.0:attrname-format:basic");
  REQUIRE(find("http://eidas.europa.eu/attributes/naturalperson/Gender") != nullptr);
  CHECK(find("http://eidas.europa.eu/attributes/naturalperson/Gender")->values == Values{"Male"});
  REQUIRE(find("Nachname") != nullptr);
  CHECK(find("Nachname")->name_format == "urn:example:format");
  CHECK(find("urn:oid:2.5.4.4") == nullptr); // surname covered by the user's rule
  // eidasPersonIdentifier is only in the eidas profile: written with its URI
  REQUIRE(find("http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier") != nullptr);
  CHECK(find("http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier")->friendly_name ==
        "PersonIdentifier");
}

TEST_CASE("akdb_trust_level falls back to the login's level", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
profiles: [servicekonto]
outbound:
  saml:
    - {from: surname, name: "urn:oid:2.5.4.4", akdb_trust_level: true}
)");
  Login l("STORK-QAA-Level-2");
  l.add("urn:oid:2.5.4.4", {"M"});
  const auto out = map.map_outbound(map.map_inbound(l.r));
  REQUIRE_FALSE(out.empty());
  CHECK(out[0].name == "urn:oid:2.5.4.4");
  CHECK(out[0].trust_level == "NORMAL");
}

TEST_CASE("environment variables: prefix, safe names, joined and escaped values", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
profiles: [servicekonto]
outbound:
  env:
    prefix: "SAML_"
    names: {mail: EMAIL}
)");
  Login l("STORK-QAA-Level-3");
  l.add("urn:oid:2.5.4.42", {"Clara"})
      .add("urn:oid:0.9.2342.19200300.100.1.3", {"a@example.org", "b;c@example.org"})
      .add("urn:oid:2.5.4.16", {"Line 1\\2"})
      .add("urn:oid:1.3.6.1.4.1.25484.494450.3", {"bpk"})
      .add("urn:oid:1.3.6.1.4.1.25484.494450.10.1", {"AT"});
  const MappedAttributes m = map.map_inbound(l.r);
  const auto env = map.to_env(m);
  const std::vector<std::pair<std::string, std::string>> want{
      {"SAML_GIVEN_NAME", "Clara"},           {"SAML_EMAIL", "a@example.org;b\\;c@example.org"},
      {"SAML_POSTAL_ADDRESS", "Line 1\\\\2"}, {"SAML_BPK2", "bpk"},
      {"SAML_EIDAS_ISSUING_COUNTRY", "AT"},   {"SAML_TRUST_LEVEL", "substantial"},
  };
  CHECK(env == want);
  for (const auto &[name, value] : env)
    for (char c : name) CHECK(((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'));
  // default prefix, an override, a refused override
  const auto def = AttributeMap::builtin("servicekonto").to_env(m);
  REQUIRE_FALSE(def.empty());
  CHECK(def[0].first == "INTERKONTO_GIVEN_NAME");
  CHECK(map.to_env(m, "AUTH_")[0].first == "AUTH_GIVEN_NAME");
  CHECK(map.to_env(m, "")[0].first == "GIVEN_NAME");
  CHECK(code_of([&] { (void)map.to_env(m, "bad-prefix"); }) == ErrorCode::config_invalid);
  // control characters never reach a variable
  MappedAttributes evil;
  evil.attributes.push_back({"surname", {"M\r\nX-Injected: 1"}, std::nullopt});
  CHECK(map.to_env(evil)[0].second == "M  X-Injected: 1");
}

TEST_CASE("JSON: name -> array of strings, escaped, optional renames", "[attributes]") {
  MappedAttributes m;
  m.attributes.push_back({"givenName", {"Clara \"C\""}, std::nullopt});
  m.attributes.push_back({"mail", {"a@example.org", "b@example.org"}, std::nullopt});
  m.attributes.push_back({"localityName", {"D\xC3\xBCsseldorf\n"}, std::nullopt});
  CHECK(AttributeMap::builtin("servicekonto").to_json(m) ==
        "{\"givenName\":[\"Clara \\\"C\\\"\"],\"mail\":[\"a@example.org\",\"b@example.org\"],"
        "\"localityName\":[\"D\xC3\xBCsseldorf\\n\"]}");
  const AttributeMap renamed =
      AttributeMap::from_yaml("outbound:\n  json:\n    names: {givenName: first_name}\n");
  CHECK(renamed.to_json(m).starts_with("{\"first_name\":[\"Clara"));
  CHECK(renamed.to_json(MappedAttributes{}) == "{}");
}

// -------------------------------------------------------------- release

namespace {

const char *kPolicyYaml = R"(
profiles: [servicekonto, eidas]
release:
  "https://portal.thueringen.example/sp":
    allow: [givenName, surname, birthdate, postalAddress, postalCode, localityName, trustLevel]
    require: [givenName, surname]
  "https://bauamt.example/sp":
    allow: ["*"]
    require: [birthdate, postalAddress]
  "https://postfach.example/sp":
    allow: [givenName, bPK2, mailboxHandle, eidasPersonIdentifier]
    allow_person_identifiers: true
    allow_mailbox_handle: true
  "*":
    allow: [trustLevel]
)";

MappedAttributes clara(const AttributeMap &map) {
  Login l("STORK-QAA-Level-3");
  l.add("urn:oid:2.5.4.42", {"Clara"})
      .add("urn:oid:2.5.4.4", {"M\xC3\xBCller"})
      .add("urn:oid:2.5.4.7", {"D\xC3\xBCsseldorf"})
      .add("urn:oid:0.9.2342.19200300.100.1.3", {"clara@example.org"})
      .add("urn:oid:1.3.6.1.4.1.25484.494450.3", {"bpk2-value"})
      .add("urn:oid:1.2.40.0.10.2.1.1.149", {"bpk-value"})
      .add("urn:oid:1.2.40.0.10.2.1.1.226699", {"pseudo"})
      .add("urn:oid:2.5.4.18", {"mbx"})
      .add("http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier", {"DE/DE/1"});
  return map.map_inbound(l.r);
}

Values names(const MappedAttributes &m) {
  Values out;
  for (const auto &a : m.attributes) out.push_back(a.name);
  return out;
}

} // namespace

TEST_CASE("release: only allowed names pass", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(kPolicyYaml);
  const ReleaseResult r = map.release(clara(map), "https://portal.thueringen.example/sp");
  CHECK(names(r.attributes) == Values{"givenName", "surname", "localityName", "trustLevel"});
  CHECK(r.attributes.trust_level == TrustLevel::substantial);
  CHECK(r.withheld == Values{"mail", "bPK2", "bPK", "pseudonym", "mailboxHandle", "eidasPersonIdentifier"});
}

TEST_CASE("release: missing required attributes fail, naming them", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(kPolicyYaml);
  std::string detail;
  CHECK(code_of([&] { (void)map.release(clara(map), "https://bauamt.example/sp"); }, &detail) ==
        ErrorCode::attribute_missing);
  CHECK(detail == "missing: birthdate, postalAddress");
  MappedAttributes only_name;
  only_name.attributes.push_back({"givenName", {"Clara"}, std::nullopt});
  CHECK(code_of([&] { (void)map.release(only_name, "https://portal.thueringen.example/sp"); }, &detail) ==
        ErrorCode::attribute_missing);
  CHECK(detail == "missing: surname");
}

TEST_CASE("release: person identifiers and the mailbox handle only when the policy allows them",
          "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(R"(
profiles: [servicekonto, eidas]
release:
  "https://all.example/sp":
    allow: "*"
)");
  const ReleaseResult all = map.release(clara(map), "https://all.example/sp");
  for (const char *id : {"bPK2", "bPK", "pseudonym", "eidasPersonIdentifier", "mailboxHandle"}) {
    INFO(id);
    CHECK(all.attributes.find(id) == nullptr);
    CHECK(std::find(all.withheld.begin(), all.withheld.end(), id) != all.withheld.end());
  }
  CHECK(all.attributes.find("mail") != nullptr);
  CHECK(is_person_identifier("bPK2"));
  CHECK(is_person_identifier("applicationId"));
  CHECK_FALSE(is_person_identifier("givenName"));

  const AttributeMap policy = AttributeMap::from_yaml(kPolicyYaml);
  const ReleaseResult pf = policy.release(clara(policy), "https://postfach.example/sp");
  CHECK(names(pf.attributes) == Values{"givenName", "bPK2", "mailboxHandle", "eidasPersonIdentifier"});

  // listing an identifier without the flag is a configuration error, not a silent drop
  std::string detail;
  CHECK(config_error("release:\n  \"*\":\n    allow: [givenName, bPK2]\n", &detail) ==
        ErrorCode::config_invalid);
  CHECK_THAT(detail, Catch::Contains("allow_person_identifiers"));
  CHECK(config_error("release:\n  \"*\":\n    allow: [mailboxHandle]\n", &detail) ==
        ErrorCode::config_invalid);
  CHECK_THAT(detail, Catch::Contains("allow_mailbox_handle"));
  CHECK(config_error("release:\n  \"*\":\n    allow: [givenName]\n    require: [surname]\n", &detail) ==
        ErrorCode::config_invalid);
  CHECK_THAT(detail, Catch::Contains("surname"));
}

TEST_CASE("release: only requested attributes when the request names them", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(kPolicyYaml);
  const ReleaseResult r =
      map.release(clara(map), "https://portal.thueringen.example/sp", {"givenName", "surname", "mail"});
  CHECK(names(r.attributes) == Values{"givenName", "surname"}); // mail is requested but not allowed
  // a required attribute that was not requested is not enforced
  const ReleaseResult b = map.release(clara(map), "https://bauamt.example/sp", {"givenName"});
  CHECK(names(b.attributes) == Values{"givenName"});
  std::string detail;
  CHECK(code_of(
            [&] {
              (void)map.release(clara(map), "https://bauamt.example/sp", {"givenName", "birthdate"});
            },
            &detail) == ErrorCode::attribute_missing);
  CHECK(detail == "missing: birthdate");
}

TEST_CASE("release: the '*' policy for unlisted SPs; without any policy nothing", "[attributes]") {
  const AttributeMap map = AttributeMap::from_yaml(kPolicyYaml);
  const ReleaseResult r = map.release(clara(map), "https://unknown.example/sp");
  CHECK(names(r.attributes) == Values{"trustLevel"});
  const AttributeMap bare = AttributeMap::builtin("servicekonto");
  const ReleaseResult none = bare.release(clara(bare), "https://portal.thueringen.example/sp");
  CHECK(none.attributes.attributes.empty());
  CHECK(none.withheld.size() == clara(bare).attributes.size());
}

// ------------------------------------------------------- configuration

TEST_CASE("bad attribute maps are refused with config_invalid naming the problem", "[attributes]") {
  std::string d;
  CHECK(config_error("profile: [servicekonto]\n", &d) == ErrorCode::config_invalid);
  CHECK_THAT(d, Catch::Contains("profile") && Catch::Contains("line 1"));
  CHECK(config_error("- just a list\n") == ErrorCode::config_invalid);
  CHECK(config_error("") == ErrorCode::config_invalid);
  CHECK(config_error("inbound: {\n") == ErrorCode::config_invalid); // YAML syntax
  CHECK(config_error("inbound:\n  \"*\":\n    - {from: x, to: \"given name\"}\n", &d) ==
        ErrorCode::config_invalid);
  CHECK_THAT(d, Catch::Contains("given name"));
  CHECK(config_error("inbound:\n  \"*\":\n    - {to: givenName}\n") == ErrorCode::config_invalid);
  CHECK(config_error("inbound:\n  \"*\":\n    - {from: x}\n") == ErrorCode::config_invalid);
  CHECK(config_error("inbound:\n  \"*\":\n    - {from: x, to: y, required: maybe}\n") ==
        ErrorCode::config_invalid);
  CHECK(config_error("inbound:\n  \"*\":\n    - {from: x, to: y, colour: red}\n", &d) ==
        ErrorCode::config_invalid);
  CHECK_THAT(d, Catch::Contains("colour"));
  CHECK(config_error("outbound:\n  env:\n    prefix: \"saml-\"\n") == ErrorCode::config_invalid);
  CHECK(config_error("outbound:\n  env:\n    names: {givenName: \"GIVEN NAME\"}\n") ==
        ErrorCode::config_invalid);
  CHECK(config_error("outbound:\n  saml:\n    - {from: givenName}\n") == ErrorCode::config_invalid);
  CHECK(config_error("outbound:\n  saml:\n    - {from: a, name: b, value_format: klingon}\n") ==
        ErrorCode::config_invalid);
  CHECK(config_error("outbound:\n  saml:\n    - {from: a, name: b, name_format: weird}\n") ==
        ErrorCode::config_invalid);
}

TEST_CASE("attribute maps load from files; unreadable files are refused", "[attributes]") {
  const auto dir =
      std::filesystem::temp_directory_path() / ("interkonto_attr_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = dir / "map.yaml";
  {
    std::ofstream f(good);
    f << "profiles: [servicekonto]\ninbound:\n  \"*\":\n    - {from: \"urn:x:nick\", to: nickname}\n";
  }
  const AttributeMap map = AttributeMap::load(good.string());
  Login l;
  l.add("urn:x:nick", {"Clari"});
  CHECK(map.map_inbound(l.r).values("nickname") == Values{"Clari"});
  const auto bad = dir / "bad.yaml";
  {
    std::ofstream f(bad);
    f << "profiles: [nope]\n";
  }
  std::string d;
  CHECK(code_of([&] { (void)AttributeMap::from_yaml_file(bad.string()); }, &d) == ErrorCode::config_invalid);
  CHECK_THAT(d, Catch::Contains("bad.yaml") && Catch::Contains("nope"));
  CHECK(code_of([&] { (void)AttributeMap::load((dir / "absent.yaml").string()); }) ==
        ErrorCode::config_invalid);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the complete example of docs/attributes.md loads and does what it says", "[attributes]") {
  std::ifstream f(std::string(INTERKONTO_SOURCE_DIR) + "/docs/attributes.md");
  REQUIRE(f);
  const std::string doc((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto begin = doc.find("```yaml\n");
  REQUIRE(begin != std::string::npos);
  const auto end = doc.find("```", begin + 8);
  REQUIRE(end != std::string::npos);
  const AttributeMap map = AttributeMap::from_yaml(doc.substr(begin + 8, end - begin - 8));

  Login l("STORK-QAA-Level-4", kOtherIdp);
  l.add("urn:oid:2.5.4.42", {"CLARA"})
      .add("urn:oid:2.5.4.4", {"M\xC3\x9CLLER"})
      .add("urn:oid:1.2.40.0.10.2.1.1.55", {"04.07.1985"})
      .add("urn:oid:2.5.4.20", {"+49 1"})
      .add("urn:example:legacy:mail", {"Clara@Example.org"})
      .add("urn:oid:1.3.6.1.4.1.25484.494450.3", {"bpk2"})
      .add("urn:oid:2.5.4.18", {"mbx"});
  const MappedAttributes m = map.map_inbound(l.r);
  CHECK(m.values("givenName") == Values{"Clara"});
  CHECK(m.values("surname") == Values{"M\xC3\xBCller"});
  CHECK(m.values("birthdate") == Values{"1985-07-04"});
  CHECK(m.find("telephoneNumber") == nullptr);
  CHECK(m.values("mail") == Values{"clara@example.org"});
  CHECK(names(map.release(m, "https://portal.thueringen.example/sp").attributes) ==
        Values{"givenName", "surname", "birthdate", "trustLevel"});
  CHECK(names(map.release(m, "https://postfach.thueringen.example/sp").attributes) ==
        Values{"givenName", "surname", "bPK2", "mailboxHandle"});
  const auto env = map.to_env(m);
  REQUIRE_FALSE(env.empty());
  CHECK(env[0] == std::pair<std::string, std::string>{"SAML_GIVEN_NAME", "Clara"});
  CHECK(map.to_json(m).starts_with("{\"first_name\":[\"Clara\"]"));
}

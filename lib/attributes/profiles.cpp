// SPDX-License-Identifier: EUPL-1.2
// The built-in profiles: the Servicekonto OID table, the eIDAS
// natural-person attributes and the ELSTER company account names.
#include "attributes/internal.hpp"

#include <array>

namespace interkonto::attributes {

namespace {

constexpr std::string_view uri = name_format_uri;
constexpr std::string_view basic = name_format_basic;
constexpr auto as_is = ValueFormat::as_is;

// Servicekonto (BundID interface description, TR-03160-2): the whole table.
constexpr std::array<ProfileRow, 27> kServicekonto{{
    {"givenName", "urn:oid:2.5.4.42", uri, "givenName", "trim,nfc", as_is},
    {"surname", "urn:oid:2.5.4.4", uri, "surname", "trim,nfc", as_is},
    {"birthName", "urn:oid:1.2.40.0.10.2.1.1.225566", uri, "birthName", "trim,nfc", as_is},
    {"personalTitle", "urn:oid:0.9.2342.19200300.100.1.40", uri, "personalTitle", "trim,nfc", as_is},
    {"gender", "urn:oid:1.3.6.1.4.1.33592.1.3.5", uri, "gender", "trim,gender", as_is},
    {"birthdate", "urn:oid:1.2.40.0.10.2.1.1.55", uri, "birthdate", "trim,date", as_is},
    {"placeOfBirth", "urn:oid:1.3.6.1.5.5.7.9.2", uri, "placeOfBirth", "trim,nfc", as_is},
    // ICAO code: Germany stays "D"
    {"nationality", "urn:oid:1.2.40.0.10.2.1.1.225577", uri, "nationality", "trim,upper", as_is},
    {"postalAddress", "urn:oid:2.5.4.16", uri, "postalAddress", "trim,nfc", as_is},
    {"postalCode", "urn:oid:2.5.4.17", uri, "postalCode", "trim,nfc", as_is},
    {"localityName", "urn:oid:2.5.4.7", uri, "localityName", "trim,nfc", as_is},
    // ISO 3166-1 alpha-2: the eID's "D" becomes "DE"
    {"country", "urn:oid:1.2.40.0.10.2.1.1.225599", uri, "country", "trim,country", as_is},
    {"mail", "urn:oid:0.9.2342.19200300.100.1.3", uri, "mail", "trim,nfc", as_is},
    {"telephoneNumber", "urn:oid:2.5.4.20", uri, "telephoneNumber", "trim", as_is},
    {"deMail", "urn:oid:1.3.6.1.4.1.55605.70737875.1.1.1.7.1", uri, "deMail", "trim,nfc", as_is},
    {"documentType", "urn:oid:1.2.40.0.10.2.1.1.552255", uri, "documentType", "trim,nfc", as_is},
    {"communityId", "urn:oid:1.3.6.1.4.1.25484.494450.5", uri, "communityId", "trim", as_is},
    {"bPK2", "urn:oid:1.3.6.1.4.1.25484.494450.3", uri, "bPK2", "trim", as_is},
    {"bPK", "urn:oid:1.2.40.0.10.2.1.1.149", uri, "bPK", "trim", as_is},
    {"trustLevel", "urn:oid:1.2.40.0.10.2.1.1.261.94", uri, "trustLevel", "trim,trust_level",
     ValueFormat::trust_stork},
    {"profileVersion", "urn:oid:1.3.6.1.4.1.25484.494450.1", uri, "profileVersion", "trim", as_is},
    {"authMethod", "urn:oid:1.3.6.1.4.1.25484.494450.2", uri, "authMethod", "trim", as_is},
    {"eidasIssuingCountry", "urn:oid:1.3.6.1.4.1.25484.494450.10.1", uri, "eidasIssuingCountry",
     "trim,country", as_is},
    {"mailboxHandle", "urn:oid:2.5.4.18", uri, "mailboxHandle", "trim", as_is},
    {"applicationId", "urn:oid:1.3.6.1.4.1.25484.494450.4", uri, "applicationId", "trim", as_is},
    {"pseudonym", "urn:oid:1.2.40.0.10.2.1.1.226699", uri, "pseudonym", "trim", as_is},
    {"mfa", "urn:oid:1.3.6.1.4.1.25484.494450.7", uri, "mfa", "trim,lower", as_is},
}};

// eIDAS natural-person attributes (eIDAS SAML Attribute Profile).
constexpr std::array<ProfileRow, 8> kEidas{{
    {"surname", "http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName", uri, "FamilyName",
     "trim,nfc", as_is},
    {"givenName", "http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName", uri, "FirstName",
     "trim,nfc", as_is},
    {"birthdate", "http://eidas.europa.eu/attributes/naturalperson/DateOfBirth", uri, "DateOfBirth",
     "trim,date", as_is},
    {"eidasPersonIdentifier", "http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier", uri,
     "PersonIdentifier", "trim", as_is},
    {"birthName", "http://eidas.europa.eu/attributes/naturalperson/BirthName", uri, "BirthName", "trim,nfc",
     as_is},
    {"placeOfBirth", "http://eidas.europa.eu/attributes/naturalperson/PlaceOfBirth", uri, "PlaceOfBirth",
     "trim,nfc", as_is},
    // base64 of an XML address: kept as it is
    {"eidasCurrentAddress", "http://eidas.europa.eu/attributes/naturalperson/CurrentAddress", uri,
     "CurrentAddress", "trim", as_is},
    {"gender", "http://eidas.europa.eu/attributes/naturalperson/Gender", uri, "Gender", "trim,gender",
     ValueFormat::eidas_gender},
}};

// ELSTER Unternehmenskonto: plain attribute names.
constexpr std::array<ProfileRow, 5> kElsterUnternehmen{{
    {"companyName", "Firmenname", basic, "Firmenname", "trim,nfc", as_is},
    {"legalForm", "Rechtsform", basic, "Rechtsform", "trim,nfc", as_is},
    {"taxNumber", "StNr", basic, "StNr", "trim", as_is},
    {"postalCode", "Anschrift.PLZ", basic, "Anschrift.PLZ", "trim,nfc", as_is},
    {"trustLevel", "ElsterVertrauensniveauAuthentifizierung", basic,
     "ElsterVertrauensniveauAuthentifizierung", "trim,trust_level", ValueFormat::trust_elster},
}};

constexpr std::array<Profile, 3> kProfiles{{
    {"servicekonto", kServicekonto},
    {"eidas", kEidas},
    {"elster-unternehmen", kElsterUnternehmen},
}};

} // namespace

std::span<const Profile> builtin_profile_table() noexcept {
  return kProfiles;
}

const Profile *find_profile(std::string_view name) noexcept {
  for (const Profile &p : kProfiles)
    if (p.name == name) return &p;
  return nullptr;
}

} // namespace interkonto::attributes

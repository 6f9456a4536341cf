// SPDX-License-Identifier: EUPL-1.2
// The Clara journey: entity IDs, demo users and the parties' metadata.

#include "clara/parties.hpp"

#include <fmt/format.h>

#include "clara/internal.hpp"
#include "clara/page.hpp"
#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"

namespace clara {

namespace {

std::string trimmed_base(std::string_view base_url) {
  while (!base_url.empty() && base_url.back() == '/') base_url.remove_suffix(1);
  return std::string(base_url);
}

using Attr = interkonto::AuthenticatedSubject::Attribute;

Attr attr(std::string_view name, std::string_view friendly, std::string value) {
  return Attr{std::string(name), {std::move(value)}, std::string(friendly), ""};
}

DemoUser user(std::string username, std::string password, std::string given, std::string surname,
              std::string birthdate, std::string street, std::string postal_code, std::string locality,
              std::string bpk2, int level) {
  namespace oid = detail::oid;
  DemoUser u;
  u.username = std::move(username);
  u.password = std::move(password);
  u.stable_id = "demo-" + u.username;
  u.trust_level = interkonto::stork_level_uri(level);
  u.attributes = {attr(oid::given_name, "givenName", std::move(given)),
                  attr(oid::surname, "surname", std::move(surname)),
                  attr(oid::birthdate, "birthdate", std::move(birthdate)),
                  attr(oid::postal_address, "postalAddress", std::move(street)),
                  attr(oid::postal_code, "postalCode", std::move(postal_code)),
                  attr(oid::locality, "localityName", std::move(locality)),
                  attr(oid::country, "country", "DE"),
                  attr(oid::bpk2, "bPK2", std::move(bpk2)),
                  attr(oid::trust_level, "trustLevel", u.trust_level)};
  return u;
}

} // namespace

std::string idp_entity_id(std::string_view base_url) {
  return trimmed_base(base_url) + "/idp";
}

std::string sp_entity_id(std::string_view base_url) {
  return trimmed_base(base_url) + "/sp";
}

std::vector<DemoUser> nrw_users() {
  return {user("clara", "clara-nrw", "Clara", "Schmidt", "1990-04-12", "Königsallee 1", "40212", "Düsseldorf",
               "kQ7Zc0tWm3bN1xR8yV2fH6jL9pD4sA5eG0uT3oI7nKq", 3),
          user("max", "max-nrw", "Max", "Mustermann", "1985-07-01", "Friedrichstraße 10", "40217",
               "Düsseldorf", "mX2aB4cD6eF8gH0iJ2kL4mN6oP8qR0sT2uV4wX6yZ8A", 1)};
}

std::vector<DemoUser> hamburg_users() {
  return {user("hanna", "hanna-hh", "Hanna", "Hansen", "1987-09-23", "Jungfernstieg 5", "20354", "Hamburg",
               "hH1aN2nA3hA4mB5uR6gD7eM8oK9tO0lL1iS2tE3xY4z", 3)};
}

namespace detail {

std::string attribute_label(std::string_view name, std::string_view friendly_name) {
  static const std::pair<std::string_view, std::string_view> labels[] = {
      {oid::given_name, "Vorname"},
      {oid::surname, "Nachname"},
      {oid::birthdate, "Geburtsdatum"},
      {oid::postal_address, "Straße und Hausnummer"},
      {oid::postal_code, "Postleitzahl"},
      {oid::locality, "Ort"},
      {oid::country, "Land"},
      {oid::bpk2, "Bereichsspezifisches Personenkennzeichen (bPK2)"},
      {oid::trust_level, "Vertrauensniveau"},
  };
  for (const auto &[n, l] : labels)
    if (n == name) return std::string(l);
  return std::string(friendly_name.empty() ? name : friendly_name);
}

const std::vector<PortalAttribute> &portal_attributes() {
  static const std::vector<PortalAttribute> list = {
      {oid::given_name, "givenName", true},    {oid::surname, "surname", true},
      {oid::birthdate, "birthdate", true},     {oid::postal_address, "postalAddress", false},
      {oid::postal_code, "postalCode", false}, {oid::locality, "localityName", false},
      {oid::country, "country", false},        {oid::trust_level, "trustLevel", false},
  };
  return list;
}

const interkonto::Credential &encryption_credential(const Common &c) {
  return c.encryption ? *c.encryption : c.saml;
}

std::string signature_method_for(const interkonto::Credential &c) {
  return std::string(c.key.type() == interkonto::KeyType::ec ? interkonto::alg::ecdsa_sha256
                                                             : interkonto::alg::rsa_pss_sha256);
}

interkonto::IdpConfig idp_config(const Common &c, const interkonto::SnapshotPtr &snap,
                                 const interkonto::EntityFilter &sps) {
  return interkonto::IdpConfig{.entity_id = idp_entity_id(c.base_url),
                               .sso_url = trimmed_base(c.base_url) + std::string(kIdpSso),
                               .signing = c.saml,
                               .sps = snap ? snap->select(sps) : std::vector<interkonto::EntityPtr>{},
                               .require_signed_requests = true,
                               .clock_skew = std::chrono::seconds{180},
                               .assertion_lifetime = std::chrono::seconds{300},
                               .policy = interkonto::AlgorithmPolicy{}};
}

namespace {

std::string certificate_base64(const interkonto::Credential &c, std::string_view what) {
  if (!c.certificate)
    throw interkonto::Error(interkonto::ErrorCode::config_invalid,
                            fmt::format("the {} key has no certificate for the metadata", what));
  return c.certificate->base64();
}

// Extensions (algorithm support) of the EntityDescriptor.
std::string entity_extensions(const Common &c) {
  return fmt::format("  <md:Extensions>\n"
                     "    <alg:DigestMethod Algorithm=\"{}\"/>\n"
                     "    <alg:SigningMethod Algorithm=\"{}\"/>\n"
                     "  </md:Extensions>\n",
                     interkonto::alg::sha256, signature_method_for(c.saml));
}

std::string ui_info(const Common &c) {
  const std::string &en = c.display_name_en.empty() ? c.display_name : c.display_name_en;
  return fmt::format("    <md:Extensions>\n      <mdui:UIInfo>\n"
                     "        <mdui:DisplayName xml:lang=\"de\">{}</mdui:DisplayName>\n"
                     "        <mdui:DisplayName xml:lang=\"en\">{}</mdui:DisplayName>\n"
                     "      </mdui:UIInfo>\n    </md:Extensions>\n",
                     esc(c.display_name), esc(en));
}

std::string key_descriptors(const Common &c) {
  const interkonto::Credential &enc = encryption_credential(c);
  std::string out = fmt::format("    <md:KeyDescriptor use=\"signing\">\n      <ds:KeyInfo><ds:X509Data>"
                                "<ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\n"
                                "    </md:KeyDescriptor>\n",
                                certificate_base64(c.saml, "signing"));
  out += fmt::format("    <md:KeyDescriptor use=\"encryption\">\n      <ds:KeyInfo><ds:X509Data>"
                     "<ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\n",
                     certificate_base64(enc, "encryption"));
  for (const std::string_view a :
       {interkonto::alg::aes256_gcm, interkonto::alg::aes128_gcm, interkonto::alg::rsa_oaep})
    out += fmt::format("      <md:EncryptionMethod Algorithm=\"{}\"/>\n", a);
  out += "    </md:KeyDescriptor>\n";
  return out;
}

std::string entity(const Common &c, const std::string &entity_id, const std::string &roles) {
  const std::string base = trimmed_base(c.base_url);
  return fmt::format(
      "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
      "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:mdui=\"urn:oasis:names:tc:SAML:metadata:ui\" "
      "xmlns:alg=\"urn:oasis:names:tc:SAML:metadata:algsupport\" entityID=\"{}\">\n"
      "{}{}"
      "  <md:Organization>\n"
      "    <md:OrganizationName xml:lang=\"de\">{}</md:OrganizationName>\n"
      "    <md:OrganizationDisplayName xml:lang=\"de\">{}</md:OrganizationDisplayName>\n"
      "    <md:OrganizationURL xml:lang=\"de\">{}/</md:OrganizationURL>\n"
      "  </md:Organization>\n"
      "  <md:ContactPerson contactType=\"technical\">\n"
      "    <md:Company>{}</md:Company>\n"
      "    <md:EmailAddress>mailto:betrieb@{}.demo.invalid</md:EmailAddress>\n"
      "  </md:ContactPerson>\n"
      "</md:EntityDescriptor>\n",
      esc(entity_id), entity_extensions(c), roles, esc(c.display_name), esc(c.display_name), esc(base),
      esc(c.display_name), esc(host_of(base)));
}

} // namespace

std::string idp_entity_xml(const Common &c) {
  const std::string base = trimmed_base(c.base_url);
  std::string role = "  <md:IDPSSODescriptor WantAuthnRequestsSigned=\"true\" "
                     "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n";
  role += ui_info(c);
  role += key_descriptors(c);
  role +=
      fmt::format("    <md:NameIDFormat>{}</md:NameIDFormat>\n    <md:NameIDFormat>{}</md:NameIDFormat>\n",
                  interkonto::nameid::transient, interkonto::nameid::persistent);
  for (const std::string_view b : {interkonto::binding::redirect, interkonto::binding::post})
    role += fmt::format("    <md:SingleSignOnService Binding=\"{}\" Location=\"{}{}\"/>\n", b, esc(base),
                        kIdpSso);
  role += "  </md:IDPSSODescriptor>\n";
  return entity(c, idp_entity_id(base), role);
}

std::string sp_entity_xml(const Common &c, bool portal_service) {
  const std::string base = trimmed_base(c.base_url);
  std::string role = "  <md:SPSSODescriptor AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"true\" "
                     "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n";
  role += ui_info(c);
  role += key_descriptors(c);
  role += fmt::format("    <md:NameIDFormat>{}</md:NameIDFormat>\n", interkonto::nameid::transient);
  role += fmt::format("    <md:AssertionConsumerService Binding=\"{}\" Location=\"{}{}\" index=\"0\" "
                      "isDefault=\"true\"/>\n",
                      interkonto::binding::post, esc(base), kSpAcs);
  if (portal_service) {
    role += "    <md:AttributeConsumingService index=\"0\" isDefault=\"true\">\n"
            "      <md:ServiceName xml:lang=\"de\">Bauvoranfrage</md:ServiceName>\n"
            "      <md:ServiceName xml:lang=\"en\">Preliminary building enquiry</md:ServiceName>\n";
    for (const PortalAttribute &a : portal_attributes())
      role += fmt::format("      <md:RequestedAttribute Name=\"{}\" "
                          "NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:uri\" "
                          "FriendlyName=\"{}\" isRequired=\"{}\"/>\n",
                          a.name, a.friendly_name, a.required ? "true" : "false");
    role += "    </md:AttributeConsumingService>\n";
  }
  role += "  </md:SPSSODescriptor>\n";
  return entity(c, sp_entity_id(base), role);
}

} // namespace detail

std::string AccountIdp::metadata_xml(const Common &common) {
  return detail::idp_entity_xml(common);
}

std::string Servicekonto::metadata_xml(const Common &common) {
  return "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" Name=\"" +
         detail::esc(trimmed_base(common.base_url)) + "\">\n" + detail::idp_entity_xml(common) +
         detail::sp_entity_xml(common, false) + "</md:EntitiesDescriptor>\n";
}

std::string Portal::metadata_xml(const Common &common) {
  return detail::sp_entity_xml(common, true);
}

} // namespace clara

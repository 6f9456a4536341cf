// SPDX-License-Identifier: EUPL-1.2
// Metadata: the entity model read from EntityDescriptor / EntitiesDescriptor
// documents, and the SP metadata the library generates.

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <functional>
#include <string>

#include "core/xml.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;
using namespace std::chrono_literals;

namespace {

const Credential &signing_cred() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 0), "md signing");
  return c;
}
const Credential &encryption_cred() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 1), "md encryption");
  return c;
}
const Credential &any_use_cred() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 2), "md any use");
  return c;
}

std::string key_descriptor(const char *use, const Credential &c, const std::string &inner = {}) {
  return fmt::format(
      R"(<md:KeyDescriptor{}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{}</md:KeyDescriptor>)",
      use == nullptr ? std::string() : fmt::format(R"( use="{}")", use), c.certificate->base64(), inner);
}

constexpr const char *kNs =
    R"(xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" )"
    R"(xmlns:alg="urn:oasis:names:tc:SAML:metadata:algsupport" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#")";

std::string idp_entity_xml(const std::string &entity_id, const std::string &valid_until_attr = {}) {
  return fmt::format(
      R"(<md:EntityDescriptor {ns} entityID="{id}"{vu}>)"
      R"(<md:Extensions><alg:SigningMethod Algorithm="http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"/></md:Extensions>)"
      R"(<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="true">)"
      R"({ksig}{kenc})"
      R"(<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{id}/slo"/>)"
      R"(<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>)"
      R"(<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{id}/sso/redirect"/>)"
      R"(<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{id}/sso/post"/>)"
      R"(</md:IDPSSODescriptor></md:EntityDescriptor>)",
      fmt::arg("ns", kNs), fmt::arg("id", entity_id), fmt::arg("vu", valid_until_attr),
      fmt::arg("ksig", key_descriptor("signing", signing_cred())),
      fmt::arg("kenc", key_descriptor("encryption", encryption_cred())));
}

std::string replaced(std::string s, const std::string &from, const std::string &to) {
  const auto pos = s.find(from);
  REQUIRE(pos != std::string::npos);
  return s.replace(pos, from.size(), to);
}

TimePoint at(const char *s) {
  const auto t = parse_datetime(s);
  REQUIRE(t);
  return *t;
}

} // namespace

TEST_CASE("parse_metadata: an IdP EntityDescriptor", "[metadata]") {
  const auto entities = parse_metadata(idp_entity_xml("https://idp.nrw.example/saml"));
  REQUIRE(entities.size() == 1);
  const Entity &e = *entities.front();
  CHECK(e.entity_id == "https://idp.nrw.example/saml");
  CHECK_FALSE(e.valid_until.has_value());
  CHECK(e.valid_at(at("2100-01-01T00:00:00Z")));
  CHECK_FALSE(e.sp.has_value());
  REQUIRE(e.idp.has_value());
  const IdpRole &idp = *e.idp;
  CHECK(idp.want_authn_requests_signed);

  // Endpoints by binding.
  REQUIRE(idp.sso.size() == 2);
  const Endpoint *redirect = idp.sso_endpoint(binding::redirect);
  const Endpoint *post = idp.sso_endpoint(binding::post);
  REQUIRE(redirect != nullptr);
  REQUIRE(post != nullptr);
  CHECK(redirect->location == "https://idp.nrw.example/saml/sso/redirect");
  CHECK(post->location == "https://idp.nrw.example/saml/sso/post");
  CHECK(idp.sso_endpoint(binding::artifact) == nullptr);
  REQUIRE(idp.slo.size() == 1);
  CHECK(idp.slo.front().binding == binding::redirect);
  CHECK(idp.slo.front().location == "https://idp.nrw.example/saml/slo");
  CHECK(idp.name_id_formats ==
        std::vector<std::string>{"urn:oasis:names:tc:SAML:2.0:nameid-format:transient"});
  CHECK(idp.signing_methods ==
        std::vector<std::string>{"http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"});

  // Signing and encryption keys are kept apart.
  REQUIRE(idp.keys.size() == 2);
  const auto sig = idp.signing_keys();
  REQUIRE(sig.size() == 1);
  CHECK(sig.front() == signing_cred().key.public_key());
  CHECK_FALSE(sig.front() == encryption_cred().key.public_key());
  const auto enc = idp.encryption_keys();
  REQUIRE(enc.size() == 1);
  CHECK(enc.front()->key() == encryption_cred().key.public_key());
  REQUIRE(enc.front()->certificate().has_value());
  CHECK(enc.front()->certificate()->der() == encryption_cred().certificate->der());
}

TEST_CASE("parse_metadata: keys without use serve both purposes", "[metadata]") {
  const std::string xml = fmt::format(
      R"(<md:EntityDescriptor {} entityID="https://sp.example/saml">)"
      R"(<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true" WantAssertionsSigned="1">)"
      R"({}{})"
      R"(<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs/0" index="0"/>)"
      R"(<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs/1" index="1" isDefault="true"/>)"
      R"(<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp.example/acs/2" index="2"/>)"
      R"(</md:SPSSODescriptor></md:EntityDescriptor>)",
      kNs, key_descriptor(nullptr, any_use_cred()),
      key_descriptor(
          "encryption", encryption_cred(),
          R"(<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep">)"
          R"(<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>)"
          R"(<xenc11:MGF Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha256"/></md:EncryptionMethod>)"
          R"(<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>)"));
  const auto entities = parse_metadata(xml);
  REQUIRE(entities.size() == 1);
  const Entity &e = *entities.front();
  CHECK_FALSE(e.idp.has_value());
  REQUIRE(e.sp.has_value());
  const SpRole &sp = *e.sp;
  CHECK(sp.authn_requests_signed);
  CHECK(sp.want_assertions_signed);

  // Unspecified use signs; the explicit encryption key does not.
  const auto sig = sp.signing_keys();
  REQUIRE(sig.size() == 1);
  CHECK(sig.front() == any_use_cred().key.public_key());
  // An explicit encryption key wins over an unspecified one.
  const auto enc = sp.encryption_keys();
  REQUIRE(enc.size() == 1);
  CHECK(enc.front()->key() == encryption_cred().key.public_key());
  REQUIRE(enc.front()->encryption_methods.size() == 2);
  CHECK(enc.front()->encryption_methods[0].algorithm == "http://www.w3.org/2009/xmlenc11#rsa-oaep");
  CHECK(enc.front()->encryption_methods[0].digest == "http://www.w3.org/2001/04/xmlenc#sha256");
  CHECK(enc.front()->encryption_methods[0].mgf == "http://www.w3.org/2009/xmlenc11#mgf1sha256");
  CHECK(enc.front()->encryption_methods[1].algorithm == "http://www.w3.org/2009/xmlenc11#aes256-gcm");
  CHECK(enc.front()->encryption_methods[1].digest.empty());

  // ACS endpoints: isDefault wins, by index, by location.
  REQUIRE(sp.acs.size() == 3);
  CHECK(sp.acs[0].index == std::optional<unsigned>(0));
  CHECK(sp.acs[1].is_default);
  CHECK_FALSE(sp.acs[0].is_default);
  const Endpoint *def = sp.acs_endpoint(std::nullopt);
  REQUIRE(def != nullptr);
  CHECK(def->location == "https://sp.example/acs/1");
  const Endpoint *idx2 = sp.acs_endpoint(2u);
  REQUIRE(idx2 != nullptr);
  CHECK(idx2->binding == binding::artifact);
  CHECK(sp.acs_endpoint(7u) == nullptr);
  CHECK(sp.has_acs_location("https://sp.example/acs/0"));
  CHECK_FALSE(sp.has_acs_location("https://sp.example/acs/9"));
  CHECK_FALSE(sp.has_acs_location("https://sp.example/acs/0/"));
}

TEST_CASE("parse_metadata: only an unspecified key serves encryption too", "[metadata]") {
  const std::string xml = fmt::format(
      R"(<md:EntityDescriptor {} entityID="https://sp.example/saml">)"
      R"(<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{}{})"
      R"(<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs/5" index="5"/>)"
      R"(<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs/3" index="3"/>)"
      R"(</md:SPSSODescriptor></md:EntityDescriptor>)",
      kNs, key_descriptor("signing", signing_cred()), key_descriptor(nullptr, any_use_cred()));
  const auto e = parse_metadata(xml).front();
  REQUIRE(e->sp);
  CHECK(e->sp->signing_keys().size() == 2);
  const auto enc = e->sp->encryption_keys();
  REQUIRE(enc.size() == 1);
  CHECK(enc.front()->key() == any_use_cred().key.public_key());
  CHECK_FALSE(e->sp->authn_requests_signed);
  // No isDefault: the lowest index.
  REQUIRE(e->sp->acs_endpoint(std::nullopt) != nullptr);
  CHECK(e->sp->acs_endpoint(std::nullopt)->location == "https://sp.example/acs/3");
}

TEST_CASE("parse_metadata: nested EntitiesDescriptor and validUntil inheritance", "[metadata]") {
  const std::string xml = fmt::format(
      R"(<md:EntitiesDescriptor {ns} Name="fink" validUntil="2026-06-01T00:00:00Z">)"
      R"({a})"
      R"(<md:EntitiesDescriptor Name="inner" validUntil="2026-05-20T00:00:00Z">{b}{c}</md:EntitiesDescriptor>)"
      R"(<md:EntitiesDescriptor Name="later" validUntil="2027-01-01T00:00:00Z">{d}</md:EntitiesDescriptor>)"
      R"(</md:EntitiesDescriptor>)",
      fmt::arg("ns", kNs), fmt::arg("a", idp_entity_xml("https://a.example")),
      fmt::arg("b", idp_entity_xml("https://b.example")),
      fmt::arg("c", idp_entity_xml("https://c.example", R"( validUntil="2026-05-10T12:00:00Z")")),
      fmt::arg("d", idp_entity_xml("https://d.example", R"( validUntil="2026-12-01T00:00:00Z")")));
  // The inner EntityDescriptors repeat the namespace declarations: fine.
  const auto entities = parse_metadata(xml);
  REQUIRE(entities.size() == 4);
  CHECK(entities[0]->entity_id == "https://a.example");
  CHECK(entities[1]->entity_id == "https://b.example");
  CHECK(entities[2]->entity_id == "https://c.example");
  CHECK(entities[3]->entity_id == "https://d.example");
  // The earliest validUntil of the entity and its ancestors wins.
  CHECK(entities[0]->valid_until == std::optional<TimePoint>(at("2026-06-01T00:00:00Z")));
  CHECK(entities[1]->valid_until == std::optional<TimePoint>(at("2026-05-20T00:00:00Z")));
  CHECK(entities[2]->valid_until == std::optional<TimePoint>(at("2026-05-10T12:00:00Z")));
  CHECK(entities[3]->valid_until == std::optional<TimePoint>(at("2026-06-01T00:00:00Z")));
  for (const auto &e : entities) CHECK(e->idp.has_value());

  CHECK(entities[2]->valid_at(at("2026-05-10T11:59:59Z")));
  CHECK_FALSE(entities[2]->valid_at(at("2026-05-10T12:00:00Z")));
  CHECK(entities[0]->valid_at(at("2026-05-31T23:59:59.999Z")));
  CHECK_FALSE(entities[0]->valid_at(at("2026-06-01T00:00:00Z")));
}

TEST_CASE("parse_metadata: a role's validUntil counts too; SAML 1 roles are ignored", "[metadata]") {
  const std::string xml = fmt::format(
      R"(<md:EntityDescriptor {} entityID="https://x.example" validUntil="2030-01-01T00:00:00Z">)"
      R"(<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" validUntil="2029-01-01T00:00:00+01:00">)"
      R"(<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://x.example/sso"/>)"
      R"(</md:IDPSSODescriptor>)"
      R"(<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol">)"
      R"(<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:1.0:profiles:browser-post" Location="https://x.example/acs" index="0"/>)"
      R"(</md:SPSSODescriptor></md:EntityDescriptor>)",
      kNs);
  const auto e = parse_metadata(xml).front();
  CHECK(e->valid_until == std::optional<TimePoint>(at("2028-12-31T23:00:00Z")));
  CHECK(e->idp.has_value());
  CHECK_FALSE(e->sp.has_value());
}

TEST_CASE("parse_metadata: malformed metadata is config_invalid", "[metadata]") {
  const std::string ok = idp_entity_xml("https://idp.example");
  for (const std::string &bad : {
           std::string(""),
           std::string("not xml at all"),
           std::string("<md:EntityDescriptor"),
           ok.substr(0, ok.size() / 2),
           // Wrong root element / namespace.
           std::string(R"(<EntityDescriptor entityID="https://x"/>)"),
           std::string(R"(<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>)"),
           // An aggregate without entities.
           fmt::format(R"(<md:EntitiesDescriptor {}/>)", kNs),
           // No entityID.
           replaced(ok, R"(entityID="https://idp.example")", ""),
           // Empty entityID.
           replaced(ok, R"(entityID="https://idp.example")", R"(entityID="")"),
           // validUntil that is no dateTime.
           replaced(ok, R"(entityID="https://idp.example")",
                    R"(entityID="https://idp.example" validUntil="tomorrow")"),
           // KeyDescriptor without a certificate.
           replaced(ok,
                    "<ds:X509Data><ds:X509Certificate>" + signing_cred().certificate->base64() +
                        "</ds:X509Certificate></ds:X509Data>",
                    "<ds:KeyName>k</ds:KeyName>"),
           // Certificate that is not base64 DER.
           replaced(ok, signing_cred().certificate->base64(), "AAAA"),
           // Unknown key use.
           replaced(ok, R"(use="signing")", R"(use="both")"),
           // An endpoint without Location.
           replaced(ok, R"(Location="https://idp.example/sso/post")", ""),
           // A DTD (entity expansion attacks).
           std::string(R"(<?xml version="1.0"?><!DOCTYPE md [<!ENTITY x "y">]>)") + ok,
       }) {
    INFO("metadata: " << bad.substr(0, 200));
    CHECK(code_of([&] { parse_metadata(bad); }) == ErrorCode::config_invalid);
  }
  CHECK(code_of([] { load_metadata_file("/nonexistent/interkonto/metadata.xml"); }) ==
        ErrorCode::config_invalid);
}

TEST_CASE("make_sp_metadata: schema-valid, and it parses back", "[metadata]") {
  SpMetadataOptions o;
  o.entity_id = "https://portal.example/saml";
  o.acs_urls = {"https://portal.example/saml/acs", "https://portal.example/saml/acs2"};
  o.signing_certificate = *signing_cred().certificate;
  o.encryption_certificates = {*encryption_cred().certificate, *any_use_cred().certificate};
  o.name_id_formats = {"urn:oasis:names:tc:SAML:2.0:nameid-format:transient"};
  o.authn_requests_signed = true;
  o.want_assertions_signed = true;
  o.organization_name = "Freistaat Thüringen & Co";
  o.organization_display_name = "Thüringen";
  o.organization_url = "https://portal.example/";
  o.technical_contact_email = "saml@portal.example";
  const std::string out = make_sp_metadata(o);

  const xml::DocPtr doc = xml::parse(out, 1 << 20);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  xmlNode *root = xmlDocGetRootElement(doc.get());
  REQUIRE(xml::is(root, xml::ns_md, "EntityDescriptor"));
  // BundID: no validUntil, no ID on the SP's metadata.
  CHECK_FALSE(xml::attr(root, "validUntil").has_value());
  CHECK_FALSE(xml::attr(root, "ID").has_value());
  xmlNode *org = xml::first_child(root, xml::ns_md, "Organization");
  REQUIRE(org != nullptr);
  CHECK(xml::text(xml::first_child(org, xml::ns_md, "OrganizationName")) == "Freistaat Thüringen & Co");
  xmlNode *contact = xml::first_child(root, xml::ns_md, "ContactPerson");
  REQUIRE(contact != nullptr);
  CHECK(xml::attr(contact, "contactType") == std::optional<std::string>("technical"));

  const auto entities = parse_metadata(out);
  REQUIRE(entities.size() == 1);
  const Entity &e = *entities.front();
  CHECK(e.entity_id == "https://portal.example/saml");
  CHECK_FALSE(e.valid_until.has_value());
  CHECK_FALSE(e.idp.has_value());
  REQUIRE(e.sp.has_value());
  CHECK(e.sp->authn_requests_signed);
  CHECK(e.sp->want_assertions_signed);
  REQUIRE(e.sp->acs.size() == 2);
  CHECK(e.sp->acs[0].binding == binding::post);
  CHECK(e.sp->acs[0].location == "https://portal.example/saml/acs");
  CHECK(e.sp->acs[1].location == "https://portal.example/saml/acs2");
  REQUIRE(e.sp->acs_endpoint(std::nullopt) != nullptr);
  CHECK(e.sp->acs_endpoint(std::nullopt)->location == "https://portal.example/saml/acs");
  CHECK(e.sp->name_id_formats == o.name_id_formats);

  const auto sig = e.sp->signing_keys();
  REQUIRE(sig.size() == 1);
  CHECK(sig.front() == signing_cred().key.public_key());
  const auto enc = e.sp->encryption_keys();
  REQUIRE(enc.size() == 2);
  CHECK(enc[0]->key() == encryption_cred().key.public_key());
  CHECK(enc[1]->key() == any_use_cred().key.public_key());
  // The encryption key announces what it can decrypt, GCM first.
  REQUIRE_FALSE(enc[0]->encryption_methods.empty());
  bool gcm = false;
  bool oaep = false;
  for (const auto &m : enc[0]->encryption_methods) {
    gcm = gcm || m.algorithm == alg::aes256_gcm;
    oaep = oaep || m.algorithm == alg::rsa_oaep;
  }
  CHECK(gcm);
  CHECK(oaep);
  CHECK(enc[0]->encryption_methods.front().algorithm == alg::aes256_gcm);
}

TEST_CASE("make_sp_metadata: minimal options and escaping", "[metadata]") {
  SpMetadataOptions o;
  o.entity_id = "https://portal.example/saml?a=1&b=\"2\"";
  o.acs_urls = {"https://portal.example/saml/acs?x=<y>"};
  o.authn_requests_signed = false;
  o.want_assertions_signed = false;
  const std::string out = make_sp_metadata(o);
  const xml::DocPtr doc = xml::parse(out, 1 << 20);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  const auto e = parse_metadata(out).front();
  CHECK(e->entity_id == "https://portal.example/saml?a=1&b=\"2\"");
  REQUIRE(e->sp);
  CHECK_FALSE(e->sp->authn_requests_signed);
  CHECK_FALSE(e->sp->want_assertions_signed);
  CHECK(e->sp->keys.empty());
  REQUIRE(e->sp->acs.size() == 1);
  CHECK(e->sp->acs.front().location == "https://portal.example/saml/acs?x=<y>");
}

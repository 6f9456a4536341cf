// SPDX-License-Identifier: EUPL-1.2
// Building and signing metadata: sign_aggregate (the federation operator's
// EntitiesDescriptor), sign_entity (an MDQ answer) and extract_entity_xml.

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/xml.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMax = 16 * 1024 * 1024;

const Credential &operator_cred() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 0), "FINK metadata signer");
  return c;
}
const Credential &other_cred() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 1), "someone else");
  return c;
}
const Credential &ec_cred() {
  static const Credential c = test::self_signed_cert(test::ec_key("prime256v1"), "FINK EC signer");
  return c;
}

TimePoint fixed_now() {
  return *parse_datetime("2026-05-04T10:00:00Z", true);
}

MetadataSignOptions options(const Credential &c = operator_cred()) {
  MetadataSignOptions o{
      c.key,         c.certificate, std::string(alg::rsa_sha256), std::chrono::hours(24 * 7), std::nullopt,
      std::string(), fixed_now()};
  return o;
}

constexpr const char *kNs = R"(xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" )"
                            R"(xmlns:ds="http://www.w3.org/2000/09/xmldsig#" )"
                            R"(xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui")";

std::string key_descriptor(const Credential &c) {
  return fmt::format(R"(<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{})"
                     R"(</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>)",
                     c.certificate->base64());
}

// An IdP EntityDescriptor; `attrs` goes into its start tag, `ns` replaces the
// namespace declarations (empty inside a container that declares them).
std::string idp(const std::string &id, const std::string &attrs = {}, const char *ns = kNs) {
  return fmt::format(
      R"(<md:EntityDescriptor {ns} entityID="{id}"{attrs}>)"
      R"(<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">)"
      R"(<md:Extensions><mdui:UIInfo><mdui:DisplayName xml:lang="de">{id} (de)</mdui:DisplayName></mdui:UIInfo></md:Extensions>)"
      R"({kd})"
      R"(<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{id}/sso"/>)"
      R"(</md:IDPSSODescriptor>)"
      R"(<md:Organization><md:OrganizationName xml:lang="de">Org</md:OrganizationName>)"
      R"(<md:OrganizationDisplayName xml:lang="de">Org</md:OrganizationDisplayName>)"
      R"(<md:OrganizationURL xml:lang="de">https://org.example/</md:OrganizationURL></md:Organization>)"
      R"(<md:ContactPerson contactType="technical"><md:EmailAddress>mailto:t@example.org</md:EmailAddress></md:ContactPerson>)"
      R"(</md:EntityDescriptor>)",
      fmt::arg("ns", ns), fmt::arg("id", id), fmt::arg("attrs", attrs),
      fmt::arg("kd", key_descriptor(other_cred())));
}

std::string sp(const std::string &id, const char *ns = kNs) {
  return fmt::format(
      R"(<md:EntityDescriptor {ns} entityID="{id}">)"
      R"(<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{kd})"
      R"(<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{id}/acs" index="0"/>)"
      R"(</md:SPSSODescriptor></md:EntityDescriptor>)",
      fmt::arg("ns", ns), fmt::arg("id", id), fmt::arg("kd", key_descriptor(other_cred())));
}

// A group: an EntitiesDescriptor with a nested one, and entity attributes
// whose xsi:type QName uses a prefix declared only on the group's root.
std::string group() {
  const std::string attrs =
      R"(<md:Extensions><mdattr:EntityAttributes xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute">)"
      R"(<saml:Attribute xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Name="http://macedir.org/entity-category">)"
      R"(<saml:AttributeValue xsi:type="xs:string">https://fink.example/cat</saml:AttributeValue>)"
      R"(</saml:Attribute></mdattr:EntityAttributes></md:Extensions>)";
  std::string with_attrs = sp("https://sp2.example/sp", "");
  with_attrs.insert(with_attrs.find("<md:SPSSODescriptor"), attrs);
  return fmt::format(R"(<md:EntitiesDescriptor {} xmlns:xs="http://www.w3.org/2001/XMLSchema" )"
                     R"(xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Name="urn:old" ID="_old" )"
                     R"(validUntil="2001-01-01T00:00:00Z">)"
                     R"(<md:EntitiesDescriptor Name="urn:nested">{}</md:EntitiesDescriptor>{})"
                     R"(</md:EntitiesDescriptor>)",
                     kNs, idp("https://idp2.example/idp", {}, ""), with_attrs);
}

std::vector<xmlNode *> entity_children(xmlNode *root) {
  return xml::children(root, xml::ns_md, "EntityDescriptor");
}

AggregateTrust trust_in(const Credential &c) {
  AggregateTrust t;
  t.pinned_keys = {c.key.public_key()};
  return t;
}

} // namespace

TEST_CASE("sign_aggregate: schema-valid, Signature first, entities flattened", "[metadata][sign]") {
  auto o = options();
  o.cache_duration = std::chrono::hours(6);
  o.name = "urn:fink:test";
  const std::string out =
      sign_aggregate({idp("https://idp1.example/idp"), group(), sp("https://sp1.example/sp")}, o);
  REQUIRE(out.starts_with("<?xml"));

  xml::DocPtr doc = xml::parse(out, kMax);
  xml::validate_schema(doc.get()); // throws schema_invalid otherwise
  xmlNode *root = xmlDocGetRootElement(doc.get());
  REQUIRE(xml::is(root, xml::ns_md, "EntitiesDescriptor"));
  const std::string id = xml::attr(root, "ID").value_or("");
  CHECK(id.size() == 33);
  CHECK(id.front() == '_');
  CHECK(xml::attr(root, "validUntil") == std::optional<std::string>("2026-05-11T10:00:00Z"));
  CHECK(xml::attr(root, "cacheDuration") == std::optional<std::string>("PT6H"));
  CHECK(xml::attr(root, "Name") == std::optional<std::string>("urn:fink:test"));

  const auto kids = xml::element_children(root);
  REQUIRE(kids.size() == 5); // Signature + 4 entities, nested group flattened
  CHECK(xml::is(kids[0], xml::ns_ds, "Signature"));
  std::vector<std::string> ids;
  for (std::size_t i = 1; i < kids.size(); ++i) {
    REQUIRE(xml::is(kids[i], xml::ns_md, "EntityDescriptor"));
    ids.push_back(xml::attr(kids[i], "entityID").value_or(""));
  }
  CHECK(ids == std::vector<std::string>{"https://idp1.example/idp", "https://idp2.example/idp",
                                        "https://sp2.example/sp", "https://sp1.example/sp"});
  xmlNode *ref = xml::descendants(kids[0], xml::ns_ds, "Reference").at(0);
  CHECK(xml::attr(ref, "URI") == std::optional<std::string>("#" + id));
  xmlNode *sm = xml::descendants(kids[0], xml::ns_ds, "SignatureMethod").at(0);
  CHECK(xml::attr(sm, "Algorithm") == std::optional<std::string>(alg::rsa_sha256));
  xmlNode *dm = xml::descendants(kids[0], xml::ns_ds, "DigestMethod").at(0);
  CHECK(xml::attr(dm, "Algorithm") == std::optional<std::string>(alg::sha256));
  auto x5 = xml::descendants(kids[0], xml::ns_ds, "X509Certificate");
  REQUIRE(x5.size() == 1);
  CHECK(std::string(xml::trim(xml::text(x5[0]))) == operator_cred().certificate->base64());

  // xsi:type="xs:string" still has its prefix in scope after the copy.
  auto values = xml::descendants(root, xml::ns_saml, "AttributeValue");
  REQUIRE(values.size() == 1);
  const xmlNs *xs = xmlSearchNs(doc.get(), values[0], reinterpret_cast<const xmlChar *>("xs"));
  REQUIRE(xs != nullptr);
  CHECK(std::string(reinterpret_cast<const char *>(xs->href)) == "http://www.w3.org/2001/XMLSchema");
}

TEST_CASE("sign_aggregate: loads with load_aggregate and the signer's key only", "[metadata][sign]") {
  const std::string out = sign_aggregate({idp("https://idp1.example/idp"), group()}, options());
  SnapshotPtr snap = load_aggregate(out, trust_in(operator_cred()), fixed_now());
  REQUIRE(snap);
  CHECK(snap->entities().size() == 3);
  CHECK(snap->skipped().empty());
  REQUIRE(snap->valid_until());
  CHECK(*snap->valid_until() == fixed_now() + std::chrono::hours(24 * 7));
  CHECK(snap->find("https://idp2.example/idp") != nullptr);
  // The old group's validUntil (2001) is gone: nothing is expired.
  CHECK(snap->find("https://idp2.example/idp")->valid_at(fixed_now()));

  const ErrorCode wrong = code_of([&] { load_aggregate(out, trust_in(other_cred()), fixed_now()); });
  CHECK((wrong == ErrorCode::untrusted_key || wrong == ErrorCode::signature_invalid));
  CHECK(code_of([&] {
          load_aggregate(out, trust_in(operator_cred()), fixed_now() + std::chrono::hours(24 * 8));
        }) == ErrorCode::expired);

  std::string tampered = out;
  const auto at = tampered.find("https://idp1.example/idp/sso");
  REQUIRE(at != std::string::npos);
  tampered.replace(at, 13, "https://evil.");
  CHECK(code_of([&] { load_aggregate(tampered, trust_in(operator_cred()), fixed_now()); }) ==
        ErrorCode::signature_invalid);
}

TEST_CASE("sign_aggregate: duplicate entityIDs are refused", "[metadata][sign]") {
  std::string detail;
  CHECK(code_of(
            [&] {
              sign_aggregate({idp("https://idp2.example/idp"), group()}, options());
            },
            &detail) == ErrorCode::config_invalid);
  CHECK(detail.find("duplicate entityID https://idp2.example/idp") != std::string::npos);
  CHECK(code_of([&] {
          sign_aggregate({idp("https://a.example/idp"), idp("https://a.example/idp")}, options());
        }) == ErrorCode::config_invalid);
}

TEST_CASE("sign_aggregate: signatures, IDs and validity of the inputs are stripped", "[metadata][sign]") {
  // An input signed by someone else, with its own ID, an expired validUntil
  // and a cacheDuration.
  auto other = options(other_cred());
  const std::string signed_input =
      sign_entity(idp("https://idp1.example/idp", R"( cacheDuration="PT1M")"), other);
  REQUIRE(signed_input.find("Signature") != std::string::npos);
  const std::string signed_group = sign_aggregate({group()}, other);

  const std::string out = sign_aggregate({signed_input, signed_group}, options());
  xml::DocPtr doc = xml::parse(out, kMax);
  xml::validate_schema(doc.get());
  xmlNode *root = xmlDocGetRootElement(doc.get());
  CHECK(xml::descendants(root, xml::ns_ds, "Signature").size() == 1);
  CHECK(xml::descendants(root, xml::ns_md, "EntitiesDescriptor").empty());
  CHECK(out.find(other_cred().certificate->base64()) != std::string::npos); // as the entities' key
  const auto entities = entity_children(root);
  REQUIRE(entities.size() == 3);
  for (xmlNode *e : entities) {
    CHECK_FALSE(xml::attr(e, "ID"));
    CHECK_FALSE(xml::attr(e, "validUntil"));
    CHECK_FALSE(xml::attr(e, "cacheDuration"));
    CHECK(xml::children(e, xml::ns_ds, "Signature").empty());
  }
  SnapshotPtr snap = load_aggregate(out, trust_in(operator_cred()), fixed_now());
  CHECK(snap->entities().size() == 3);
  CHECK(snap->skipped().empty());
  CHECK_FALSE(snap->cache_duration());
}

TEST_CASE("sign_aggregate: RSASSA-PSS and ECDSA signatures load", "[metadata][sign]") {
  auto pss = options();
  pss.signature_method = std::string(alg::rsa_pss_sha256);
  const std::string a = sign_aggregate({idp("https://idp1.example/idp")}, pss);
  CHECK(a.find(std::string(alg::rsa_pss_sha256)) != std::string::npos);
  CHECK(load_aggregate(a, trust_in(operator_cred()), fixed_now())->entities().size() == 1);

  auto ec = options(ec_cred());
  ec.signature_method = std::string(alg::ecdsa_sha256);
  const std::string b = sign_aggregate({idp("https://idp1.example/idp")}, ec);
  CHECK(b.find(std::string(alg::ecdsa_sha256)) != std::string::npos);
  xml::DocPtr doc = xml::parse(b, kMax);
  xml::validate_schema(doc.get());
  CHECK(load_aggregate(b, trust_in(ec_cred()), fixed_now())->entities().size() == 1);
}

TEST_CASE("sign_aggregate: bad options and inputs", "[metadata][sign]") {
  const std::vector<std::string> one{idp("https://idp1.example/idp")};
  auto sha1 = options();
  sha1.signature_method = std::string(alg::rsa_sha1);
  CHECK(code_of([&] { sign_aggregate(one, sha1); }) == ErrorCode::algorithm_refused);

  auto mismatch = options();
  mismatch.certificate = other_cred().certificate;
  CHECK(code_of([&] { sign_aggregate(one, mismatch); }) == ErrorCode::config_invalid);

  auto wrong_key_type = options();
  wrong_key_type.signature_method = std::string(alg::ecdsa_sha256); // with an RSA key
  CHECK(code_of([&] { sign_aggregate(one, wrong_key_type); }) == ErrorCode::config_invalid);

  auto zero = options();
  zero.valid_for = std::chrono::seconds(0);
  CHECK(code_of([&] { sign_aggregate(one, zero); }) == ErrorCode::config_invalid);

  CHECK(code_of([&] { sign_aggregate({}, options()); }) == ErrorCode::config_invalid);
  CHECK(code_of([&] { sign_aggregate({"<foo/>"}, options()); }) == ErrorCode::config_invalid);
  CHECK(code_of([&] { sign_aggregate({"<md:EntityDescriptor"}, options()); }) == ErrorCode::malformed);
  CHECK(code_of([&] {
          sign_aggregate({R"(<!DOCTYPE x [<!ENTITY a "b">]><md:EntityDescriptor/>)"}, options());
        }) == ErrorCode::dtd_forbidden);
  const std::string no_id = R"(<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>)";
  CHECK(code_of([&] { sign_aggregate({no_id}, options()); }) == ErrorCode::config_invalid);
}

TEST_CASE("sign_entity: one signed EntityDescriptor, Signature first", "[metadata][sign]") {
  auto o = options();
  o.cache_duration = std::chrono::minutes(30);
  const std::string out =
      sign_entity(idp("https://idp1.example/idp", R"( ID="_x" validUntil="2001-01-01T00:00:00Z")"), o);
  xml::DocPtr doc = xml::parse(out, kMax);
  xml::validate_schema(doc.get());
  xmlNode *root = xmlDocGetRootElement(doc.get());
  REQUIRE(xml::is(root, xml::ns_md, "EntityDescriptor"));
  CHECK(xml::attr(root, "ID") != std::optional<std::string>("_x"));
  CHECK(xml::attr(root, "validUntil") == std::optional<std::string>("2026-05-11T10:00:00Z"));
  CHECK(xml::attr(root, "cacheDuration") == std::optional<std::string>("PT30M"));
  CHECK(xml::is(xml::element_children(root).at(0), xml::ns_ds, "Signature"));

  SnapshotPtr snap = load_aggregate(out, trust_in(operator_cred()), fixed_now());
  REQUIRE(snap->entities().size() == 1);
  CHECK(snap->entities()[0]->entity_id == "https://idp1.example/idp");
  CHECK(snap->cache_duration() == std::optional<std::chrono::seconds>(std::chrono::minutes(30)));

  // Re-signing a signed entity replaces its signature.
  const std::string again = sign_entity(out, options(other_cred()));
  xml::DocPtr doc2 = xml::parse(again, kMax);
  CHECK(xml::descendants(xmlDocGetRootElement(doc2.get()), xml::ns_ds, "Signature").size() == 1);
  CHECK(load_aggregate(again, trust_in(other_cred()), fixed_now())->entities().size() == 1);

  CHECK(code_of([&] { sign_entity(group(), options()); }) == ErrorCode::config_invalid);
}

TEST_CASE("extract_entity_xml: one EntityDescriptor on its own", "[metadata][sign]") {
  const std::string agg = sign_aggregate({idp("https://idp1.example/idp"), group()}, options());
  const std::string xml_text = extract_entity_xml(agg, "https://sp2.example/sp");
  REQUIRE_FALSE(xml_text.empty());
  CHECK_FALSE(xml_text.starts_with("<?xml"));
  xml::DocPtr doc = xml::parse(xml_text, kMax);
  xmlNode *root = xmlDocGetRootElement(doc.get());
  REQUIRE(xml::is(root, xml::ns_md, "EntityDescriptor"));
  CHECK(xml::attr(root, "entityID") == std::optional<std::string>("https://sp2.example/sp"));
  auto values = xml::descendants(root, xml::ns_saml, "AttributeValue");
  REQUIRE(values.size() == 1);
  CHECK(xmlSearchNs(doc.get(), values[0], reinterpret_cast<const xmlChar *>("xs")) != nullptr);
  auto parsed = parse_metadata(xml_text);
  REQUIRE(parsed.size() == 1);
  CHECK(parsed[0]->sp);

  CHECK(extract_entity_xml(agg, "https://unknown.example/").empty());
  CHECK(code_of([&] { (void)extract_entity_xml("<md:Entit", "x"); }) == ErrorCode::malformed);
}

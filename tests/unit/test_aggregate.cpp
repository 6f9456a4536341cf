// SPDX-License-Identifier: EUPL-1.2
// Trust in a signed federation aggregate (load_aggregate) and the model it
// builds: every refusal the FINK rules ask for, and a feed that survives one
// bad entity.

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/metadata.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;

namespace {

const Credential &federation() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 5), "FINK federation operator");
  return c;
}
const Credential &member_key() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 6), "member");
  return c;
}

TimePoint at(const char *t) {
  return *parse_datetime(t);
}
const TimePoint kNow = *parse_datetime("2026-05-04T10:00:00Z");

std::string idp_entity(const std::string &id, const std::string &extra_attrs = {}) {
  return fmt::format(
      R"(<md:EntityDescriptor entityID="{0}"{2}>
  <md:Extensions>
    <mdattr:EntityAttributes><saml:Attribute Name="http://macedir.org/entity-category" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>https://fink.example/category/servicekonto</saml:AttributeValue></saml:Attribute></mdattr:EntityAttributes>
    <mdrpi:RegistrationInfo registrationAuthority="https://fink.example/" registrationInstant="2025-01-01T00:00:00Z"/>
  </md:Extensions>
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:Extensions><mdui:UIInfo><mdui:DisplayName xml:lang="de">Servicekonto {0}</mdui:DisplayName><mdui:DisplayName xml:lang="en">Service account {0}</mdui:DisplayName><mdui:Logo width="16" height="16">https://logo.example/x.png</mdui:Logo></mdui:UIInfo></md:Extensions>
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{1}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{0}/sso"/>
  </md:IDPSSODescriptor>
  <md:Organization><md:OrganizationName xml:lang="de">Org</md:OrganizationName><md:OrganizationDisplayName xml:lang="de">Organisation {0}</md:OrganizationDisplayName><md:OrganizationURL xml:lang="de">https://org.example/</md:OrganizationURL></md:Organization>
  <md:ContactPerson contactType="technical"><md:GivenName>Tina</md:GivenName><md:EmailAddress>mailto:tech@org.example</md:EmailAddress></md:ContactPerson>
</md:EntityDescriptor>)",
      id, member_key().certificate->base64(), extra_attrs);
}

// ds:RSAKeyValue Modulus of a real key.
std::string modulus_b64() {
  static const std::string m = [] {
    BIGNUM *n = nullptr;
    EVP_PKEY_get_bn_param(test::rsa_key(2048, 7).native(), OSSL_PKEY_PARAM_RSA_N, &n);
    std::string bytes(static_cast<std::size_t>(BN_num_bytes(n)), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char *>(bytes.data()));
    BN_free(n);
    return base64_encode(bytes);
  }();
  return m;
}

std::string sp_entity(const std::string &id) {
  return fmt::format(
      R"(<md:EntityDescriptor entityID="{0}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor><ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>{1}</ds:Modulus><ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo></md:KeyDescriptor>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{0}/acs" index="0"/>
    <md:AttributeConsumingService index="0"><md:ServiceName xml:lang="de">Bauvoranfrage</md:ServiceName><md:RequestedAttribute Name="urn:oid:2.5.4.42" isRequired="true"/></md:AttributeConsumingService>
  </md:SPSSODescriptor>
</md:EntityDescriptor>)",
      id, modulus_b64());
}

struct Feed {
  std::string valid_until = "2026-05-11T10:00:00Z";
  std::string cache_duration = "PT6H";
  std::vector<std::string> entities = {idp_entity("https://nrw.example/idp"),
                                       idp_entity("https://hh.example/idp"),
                                       sp_entity("https://portal.example/sp")};
  std::string id = "_agg1";
  bool sign = true;
  std::string sig_alg{alg::rsa_sha256};
  std::string digest{alg::sha256};
  const Credential *signer = &federation();
};

std::string build(const Feed &f) {
  std::string body;
  for (const auto &e : f.entities) body += e;
  const std::string xml = fmt::format(
      R"(<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" xmlns:mdrpi="urn:oasis:names:tc:SAML:metadata:rpi" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{}"{}{} Name="https://fink.example/">{}</md:EntitiesDescriptor>)",
      f.id, f.valid_until.empty() ? "" : fmt::format(R"( validUntil="{}")", f.valid_until),
      f.cache_duration.empty() ? "" : fmt::format(R"( cacheDuration="{}")", f.cache_duration), body);
  if (!f.sign) return xml;
  xml::DocPtr doc = xml::parse(xml, 1 << 24);
  xmlNode *root = xmlDocGetRootElement(doc.get());
  xmlsec::sign_enveloped(doc.get(), root, nullptr, f.signer->key, f.sig_alg, f.digest,
                         &*f.signer->certificate);
  return xml::serialize(doc.get());
}

AggregateTrust trust() {
  AggregateTrust t;
  t.pinned_keys = {federation().key.public_key()};
  return t;
}

ErrorCode refused(const std::string &xml, const AggregateTrust &t = trust(), TimePoint now = kNow) {
  return code_of([&] { (void)load_aggregate(xml, t, now); });
}

} // namespace

TEST_CASE("a valid signed aggregate loads with every part of the model", "[metadata][aggregate]") {
  const SnapshotPtr s = load_aggregate(build(Feed{}), trust(), kNow);
  REQUIRE(s->entities().size() == 3);
  CHECK(s->name() == "https://fink.example/");
  CHECK(s->valid_until() == at("2026-05-11T10:00:00Z"));
  CHECK(s->cache_duration() == std::chrono::seconds(6 * 3600));
  CHECK(s->skipped().empty());
  // sorted by entityID, O(1) lookups by ID and by SHA-1
  CHECK(s->entities().front()->entity_id == "https://hh.example/idp");
  const EntityPtr nrw = s->find("https://nrw.example/idp");
  REQUIRE(nrw);
  CHECK(s->find_sha1(entity_id_sha1_hex("https://nrw.example/idp")) == nrw);
  CHECK(s->find_sha1("{sha1}" + entity_id_sha1_hex("https://nrw.example/idp")) == nrw);
  CHECK(s->find("https://unknown.example") == nullptr);
  CHECK(entity_id_sha1_hex("https://nrw.example/idp").size() == 40);
  // model
  REQUIRE(nrw->idp);
  CHECK(nrw->idp->sso_endpoint(binding::redirect)->location == "https://nrw.example/idp/sso");
  CHECK(nrw->idp->signing_keys().front() == member_key().key.public_key());
  CHECK(nrw->idp->keys.front().material.fingerprint() == member_key().key.public_key().fingerprint());
  CHECK(nrw->display_name("de") == "Servicekonto https://nrw.example/idp");
  CHECK(nrw->display_name("en") == "Service account https://nrw.example/idp");
  CHECK(nrw->display_name("fr") == "Servicekonto https://nrw.example/idp"); // another language
  REQUIRE(nrw->idp_ui);
  CHECK(nrw->idp_ui->logos.front().width == 16);
  CHECK(nrw->organization.display_names.front().value == "Organisation https://nrw.example/idp");
  CHECK(nrw->contacts.front().emails.front() == "mailto:tech@org.example");
  CHECK(nrw->has_entity_attribute("http://macedir.org/entity-category",
                                  "https://fink.example/category/servicekonto"));
  REQUIRE(nrw->registration);
  CHECK(nrw->registration->authority == "https://fink.example/");
  CHECK(nrw->valid_until == at("2026-05-11T10:00:00Z")); // inherited
  CHECK(nrw->cache_duration == std::chrono::seconds(6 * 3600));
  const EntityPtr sp = s->find("https://portal.example/sp");
  REQUIRE(sp->sp);
  CHECK(sp->sp->keys.front().key().type() == KeyType::rsa); // imported from KeyValue
  CHECK(sp->sp->keys.front().key() == test::rsa_key(2048, 7).public_key());
  CHECK_FALSE(sp->sp->keys.front().material.has_certificate());
  REQUIRE(sp->attribute_consuming_services.size() == 1);
  CHECK(sp->attribute_consuming_services.front().requested.front().is_required);
  CHECK(sp->display_name("de") == "https://portal.example/sp"); // no mdui, no Organization
}

TEST_CASE("aggregate refusals", "[metadata][aggregate]") {
  SECTION("tampered") {
    std::string xml = build(Feed{});
    xml.replace(xml.find("https://hh.example/idp/sso"), 26, "https://evil.example/sso12");
    CHECK(refused(xml) == ErrorCode::signature_invalid);
  }
  SECTION("unsigned") {
    Feed f;
    f.sign = false;
    CHECK(refused(build(f)) == ErrorCode::signature_missing);
  }
  SECTION("signed by another key (its certificate in KeyInfo)") {
    Feed f;
    f.signer = &member_key();
    const ErrorCode c = refused(build(f));
    CHECK((c == ErrorCode::untrusted_key || c == ErrorCode::signature_invalid));
  }
  SECTION("SHA-1 signature") {
    Feed f;
    f.sig_alg = std::string(alg::rsa_sha1);
    f.digest = std::string(alg::sha1);
    CHECK(refused(build(f)) == ErrorCode::algorithm_refused);
  }
  SECTION("expired validUntil") {
    CHECK(refused(build(Feed{}), trust(), at("2026-05-11T10:00:00Z")) == ErrorCode::expired);
  }
  SECTION("validUntil missing when required") {
    Feed f;
    f.valid_until.clear();
    CHECK(refused(build(f)) == ErrorCode::untrusted_metadata);
    AggregateTrust t = trust();
    t.require_valid_until = false;
    CHECK(load_aggregate(build(f), t, kNow)->entities().size() == 3);
  }
  SECTION("validUntil beyond the maximum") {
    AggregateTrust t = trust();
    t.max_validity = std::chrono::hours(24 * 6);
    CHECK(refused(build(Feed{}), t) == ErrorCode::untrusted_metadata);
    t.max_validity = std::chrono::hours(24 * 7);
    CHECK(load_aggregate(build(Feed{}), t, kNow)->entities().size() == 3);
  }
  SECTION("oversized document") {
    AggregateTrust t = trust();
    t.max_size = 1000;
    CHECK(refused(build(Feed{}), t) == ErrorCode::too_large);
  }
  SECTION("DTD") {
    CHECK(refused("<!DOCTYPE x [<!ENTITY a 'b'>]>" + build(Feed{})) == ErrorCode::dtd_forbidden);
  }
  SECTION("signature referencing a nested element") {
    // The root's Signature is moved to reference the first EntityDescriptor.
    Feed f;
    f.sign = false;
    f.entities.front() = idp_entity("https://nrw.example/idp", R"( ID="_inner")");
    xml::DocPtr doc = xml::parse(build(f), 1 << 24);
    xmlNode *root = xmlDocGetRootElement(doc.get());
    xmlNode *inner = xml::first_child(root, xml::ns_md, "EntityDescriptor");
    xmlsec::sign_enveloped(doc.get(), inner, nullptr, federation().key, alg::rsa_sha256, alg::sha256,
                           nullptr);
    // move the (valid) inner signature up to the root
    xmlNode *sig = xml::first_child(inner, xml::ns_ds, "Signature");
    xmlUnlinkNode(sig);
    xmlAddPrevSibling(root->children, sig);
    const ErrorCode c = refused(xml::serialize(doc.get()));
    CHECK((c == ErrorCode::wrapping || c == ErrorCode::signature_invalid));
  }
}

TEST_CASE("one malformed entity is skipped, the rest of a signed feed stays usable",
          "[metadata][aggregate]") {
  Feed f;
  f.entities.push_back(
      R"(<md:EntityDescriptor entityID="https://broken.example/idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://broken.example/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>)");
  f.entities.push_back(
      R"(<md:EntityDescriptor entityID="https://noloc.example/idp"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"/></md:IDPSSODescriptor></md:EntityDescriptor>)");
  f.entities.push_back(idp_entity("https://expired.example/idp", R"( validUntil="2026-05-01T00:00:00Z")"));
  f.entities.push_back(idp_entity("https://nrw.example/idp")); // duplicate
  std::vector<std::string> logged;
  const SnapshotPtr s = load_aggregate(build(f), trust(), kNow, {}, [&](LogLevel l, std::string_view m) {
    if (l == LogLevel::warning) logged.emplace_back(m);
  });
  CHECK(s->entities().size() == 3);
  CHECK(s->skipped().size() == 4);
  CHECK(logged.size() == 4);
  CHECK(s->find("https://broken.example/idp") == nullptr);
  CHECK(s->find("https://expired.example/idp") == nullptr);
  CHECK(s->find("https://nrw.example/idp") != nullptr);
}

TEST_CASE("filters by role, entity attribute, registration authority, include/exclude",
          "[metadata][aggregate]") {
  const SnapshotPtr s = load_aggregate(build(Feed{}), trust(), kNow);
  EntityFilter idps;
  idps.role = EntityFilter::Role::idp;
  CHECK(s->select(idps).size() == 2);
  EntityFilter sps;
  sps.role = EntityFilter::Role::sp;
  CHECK(s->select(sps).size() == 1);
  EntityFilter cat;
  cat.entity_attributes = {
      {"http://macedir.org/entity-category", "https://fink.example/category/servicekonto"}};
  CHECK(s->select(cat).size() == 2);
  EntityFilter ra;
  ra.registration_authorities = {"https://other.example/"};
  CHECK(s->select(ra).empty());
  EntityFilter ex;
  ex.exclude = {"https://hh.example/idp"};
  CHECK(s->select(ex).size() == 2);
  EntityFilter in;
  in.include = {"https://hh.example/idp"};
  CHECK(s->select(in).size() == 1);
  // applied at load
  CHECK(load_aggregate(build(Feed{}), trust(), kNow, idps)->entities().size() == 2);
}

TEST_CASE("ISO 8601 durations", "[metadata]") {
  using namespace std::chrono;
  CHECK(parse_duration("P7D") == milliseconds(7 * 86400 * 1000LL));
  CHECK(parse_duration("PT6H") == milliseconds(6 * 3600 * 1000LL));
  CHECK(parse_duration("P1DT2H30M") == milliseconds((86400 + 2 * 3600 + 30 * 60) * 1000LL));
  CHECK(parse_duration("PT0.5S") == milliseconds(500));
  CHECK(parse_duration("PT90S") == milliseconds(90000));
  for (const char *bad :
       {"", "P", "PT", "7D", "P1Y", "P1M", "-P1D", "P1.5D", "PT1.S", "P1DT", "PT1H2", "P1W", "PTH"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration(bad));
  }
  CHECK(format_duration(seconds(86400 + 7200)) == "P1DT2H");
  CHECK(format_duration(seconds(1800)) == "PT30M");
  CHECK(format_duration(seconds(0)) == "PT0S");
}

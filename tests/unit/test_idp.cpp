// SPDX-License-Identifier: EUPL-1.2
#include <catch2/catch.hpp>

#include <libxml/tree.h>
#include <libxml/valid.h>

#include <functional>
#include <memory>
#include <string>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;

namespace {

const xmlChar *xc(const char *s) {
  return reinterpret_cast<const xmlChar *>(s);
}

constexpr const char *idp_id = "https://idp.example.org/saml";
constexpr const char *sso_url = "https://idp.example.org/saml/sso";
constexpr const char *sp_id = "https://sp.example.org";
constexpr const char *acs_main = "https://sp.example.org/saml/acs";
constexpr const char *acs_second = "https://sp.example.org/saml/acs2";
constexpr const char *acs_redirect = "https://sp.example.org/saml/acs-redirect";

TimePoint at(const char *s) {
  const auto t = parse_datetime(s);
  REQUIRE(t.has_value());
  return *t;
}

struct Fixture {
  PrivateKey idp_key = test::rsa_key(2048, 10);
  Certificate idp_cert = *test::self_signed_cert(idp_key, "Test IdP").certificate;
  PrivateKey sp_sign_key = test::rsa_key(2048, 11);
  PrivateKey sp_enc_key = test::rsa_key(2048, 12);
  Certificate sp_enc_cert = *test::self_signed_cert(sp_enc_key, "Test SP encryption").certificate;
  std::shared_ptr<FixedClock> clock = std::make_shared<FixedClock>(at("2025-06-01T12:00:00Z"));

  EntityPtr sp_entity() const {
    auto e = std::make_shared<Entity>();
    e->entity_id = sp_id;
    SpRole role;
    role.keys.push_back(KeyDescriptor{
        KeyDescriptor::Use::signing, KeyMaterial::from_public_key(sp_sign_key.public_key()), {}});
    role.keys.push_back(KeyDescriptor{
        KeyDescriptor::Use::encryption, KeyMaterial::from_certificate_der(sp_enc_cert.der()), {}});
    role.acs.push_back(Endpoint{std::string(binding::post), acs_main, "", 0u, false});
    role.acs.push_back(Endpoint{std::string(binding::post), acs_second, "", 1u, true});
    role.acs.push_back(Endpoint{std::string(binding::redirect), acs_redirect, "", 2u, false});
    e->sp = role;
    return e;
  }

  IdpConfig config(bool require_signed = true) const {
    return IdpConfig{.entity_id = idp_id,
                     .sso_url = sso_url,
                     .signing = Credential{idp_key, idp_cert},
                     .sps = {sp_entity()},
                     .require_signed_requests = require_signed,
                     .clock_skew = std::chrono::seconds{180},
                     .assertion_lifetime = std::chrono::seconds{300},
                     .policy = AlgorithmPolicy{}};
  }

  IdentityProvider idp(bool require_signed = true) const {
    return IdentityProvider(config(require_signed), clock);
  }
};

struct RequestParams {
  std::string id = "_req0001";
  std::string issue_instant = "2025-06-01T12:00:00Z";
  std::optional<std::string> destination = std::string(sso_url);
  std::optional<std::string> acs_url = std::string(acs_main);
  std::optional<std::string> acs_index;
  std::string issuer = sp_id;
  bool swap_order = false; // NameIDPolicy before Issuer: schema-invalid
};

std::string authn_request(const RequestParams &p = {}) {
  std::string x = R"(<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" )"
                  R"(xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID=")" +
                  p.id + R"(" Version="2.0" IssueInstant=")" + p.issue_instant + R"(" ForceAuthn="true")";
  if (p.destination) x += " Destination=\"" + *p.destination + "\"";
  if (p.acs_url)
    x += " AssertionConsumerServiceURL=\"" + *p.acs_url +
         "\" ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\"";
  if (p.acs_index) x += " AssertionConsumerServiceIndex=\"" + *p.acs_index + "\"";
  x += ">";
  const std::string issuer = "<saml:Issuer>" + p.issuer + "</saml:Issuer>";
  const std::string policy =
      R"(<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" AllowCreate="true"/>)";
  x += p.swap_order ? policy + issuer : issuer + policy;
  x += R"(<samlp:RequestedAuthnContext Comparison="minimum">)"
       R"(<saml:AuthnContextClassRef>STORK-QAA-Level-3</saml:AuthnContextClassRef>)"
       R"(</samlp:RequestedAuthnContext></samlp:AuthnRequest>)";
  return x;
}

HttpRequest redirect_request(const std::string &xml, const PrivateKey *key,
                             std::string_view relay = "rs-42") {
  HttpRequest r;
  r.method = "GET";
  r.path = "/saml/sso";
  r.raw_query =
      redirect_encode(MessageKind::request, xml, relay, key, key ? alg::rsa_sha256 : std::string_view{});
  return r;
}

// Signs the AuthnRequest root with an enveloped signature after Issuer.
std::string sign_post(const std::string &xml, const PrivateKey &key) {
  xml::DocPtr doc = xml::parse(xml, 1 << 20);
  xmlNode *root = xmlDocGetRootElement(doc.get());
  xmlsec::sign_enveloped(doc.get(), root, xml::first_child(root, xml::ns_saml, "Issuer"), key,
                         alg::rsa_sha256, alg::sha256, nullptr);
  return xml::serialize(doc.get());
}

HttpRequest post_request(const std::string &xml, std::string_view relay = "rs-post") {
  HttpRequest r;
  r.method = "POST";
  r.path = "/saml/sso";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  r.body = "SAMLRequest=" + url_encode(base64_encode(xml)) + "&RelayState=" + url_encode(relay);
  return r;
}

// Registers the ID attribute of `n` so that a "#ID" reference resolves.
void add_id(xmlDoc *doc, xmlNode *n) {
  xmlAttr *a = xmlHasProp(n, xc("ID"));
  REQUIRE(a != nullptr);
  const auto id = xml::attr(n, "ID");
  REQUIRE(id.has_value());
  xmlAddID(nullptr, doc, xc(id->c_str()), a);
}

AuthenticatedSubject clara() {
  AuthenticatedSubject s;
  s.name_id = "_transient-1234";
  s.authn_context_class_ref = "STORK-QAA-Level-3";
  s.session_index = "_session-1";
  s.attributes.push_back({"urn:oid:2.5.4.42", {"CLARA"}, "givenName", "SUBSTANTIELL"});
  s.attributes.push_back({"urn:oid:2.5.4.4", {"MUSTERFRAU"}, "", ""});
  s.attributes.push_back({"urn:oid:1.2.40.0.10.2.1.1.261.94", {"STORK-QAA-Level-3"}, "trustLevel", ""});
  s.attributes.push_back({"urn:example:multi", {"a & b", "<c>"}, "", ""});
  return s;
}

} // namespace

TEST_CASE("idp: accepts a signed HTTP-Redirect AuthnRequest", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  const std::string xml = authn_request();
  const ReceivedAuthnRequest r = idp.receive_authn_request(redirect_request(xml, &f.sp_sign_key));
  REQUIRE(r.id == "_req0001");
  REQUIRE(r.issuer == sp_id);
  REQUIRE(r.acs_url == acs_main);
  REQUIRE(r.relay_state == "rs-42");
  REQUIRE(r.binding == binding::redirect);
  REQUIRE(r.force_authn);
  REQUIRE_FALSE(r.is_passive);
  REQUIRE(r.name_id_format ==
          std::optional<std::string>("urn:oasis:names:tc:SAML:2.0:nameid-format:transient"));
  REQUIRE(r.requested_class_refs == std::vector<std::string>{"STORK-QAA-Level-3"});
  REQUIRE(r.comparison == "minimum");
  REQUIRE(r.xml == xml);
}

TEST_CASE("idp: accepts a signed HTTP-POST AuthnRequest", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  const ReceivedAuthnRequest r =
      idp.receive_authn_request(post_request(sign_post(authn_request(), f.sp_sign_key)));
  REQUIRE(r.id == "_req0001");
  REQUIRE(r.issuer == sp_id);
  REQUIRE(r.acs_url == acs_main);
  REQUIRE(r.relay_state == "rs-post");
  REQUIRE(r.binding == binding::post);
}

TEST_CASE("idp: refuses unsigned requests unless allowed", "[idp]") {
  const Fixture f;
  const std::string xml = authn_request();
  REQUIRE(code_of([&] { (void)f.idp().receive_authn_request(redirect_request(xml, nullptr)); }) ==
          ErrorCode::signature_missing);
  REQUIRE(code_of([&] { (void)f.idp().receive_authn_request(post_request(xml)); }) ==
          ErrorCode::signature_missing);
  const IdentityProvider lax = f.idp(false);
  REQUIRE(lax.receive_authn_request(redirect_request(xml, nullptr)).id == "_req0001");
  RequestParams second;
  second.id = "_req0002"; // request IDs are single-use
  REQUIRE(lax.receive_authn_request(post_request(authn_request(second))).id == "_req0002");
  // A signature that is there must still be good, even when not required.
  const PrivateKey other = test::rsa_key(2048, 13);
  REQUIRE(code_of([&] { (void)lax.receive_authn_request(redirect_request(xml, &other)); }) ==
          ErrorCode::signature_invalid);
}

TEST_CASE("idp: refuses a wrong signature or a tampered request", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  const PrivateKey other = test::rsa_key(2048, 13);
  REQUIRE(code_of([&] { (void)idp.receive_authn_request(redirect_request(authn_request(), &other)); }) ==
          ErrorCode::signature_invalid);
  REQUIRE(code_of([&] {
            (void)idp.receive_authn_request(post_request(sign_post(authn_request(), other)));
          }) == ErrorCode::signature_invalid);

  std::string signed_xml = sign_post(authn_request(), f.sp_sign_key);
  const std::size_t at_acs = signed_xml.find(acs_main);
  REQUIRE(at_acs != std::string::npos);
  signed_xml.replace(at_acs, std::string(acs_main).size(), acs_second);
  REQUIRE(code_of([&] { (void)idp.receive_authn_request(post_request(signed_xml)); }) ==
          ErrorCode::signature_invalid);

  HttpRequest changed_relay = redirect_request(authn_request(), &f.sp_sign_key);
  const std::size_t at_rs = changed_relay.raw_query.find("rs-42");
  REQUIRE(at_rs != std::string::npos);
  changed_relay.raw_query[at_rs + 4] = '3';
  REQUIRE(code_of([&] { (void)idp.receive_authn_request(changed_relay); }) == ErrorCode::signature_invalid);
}

TEST_CASE("idp: Destination, issuer, time and schema checks", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  const auto refuse = [&](const RequestParams &p) {
    return code_of(
        [&] { (void)idp.receive_authn_request(redirect_request(authn_request(p), &f.sp_sign_key)); });
  };
  RequestParams p;
  p.destination = "https://other.example.org/sso";
  REQUIRE(refuse(p) == ErrorCode::destination_mismatch);
  p = {};
  p.destination.reset();
  REQUIRE(refuse(p) == ErrorCode::destination_mismatch); // signed requests carry one
  p = {};
  p.issuer = "https://unknown.example.org";
  REQUIRE(refuse(p) == ErrorCode::unknown_issuer);
  p = {};
  p.issue_instant = "2025-06-01T11:50:00Z";
  REQUIRE(refuse(p) == ErrorCode::expired);
  p.issue_instant = "2025-06-01T12:10:00Z";
  REQUIRE(refuse(p) == ErrorCode::not_yet_valid);
  p.issue_instant = "2025-06-01T12:02:59Z"; // within the default skew of 180 s
  REQUIRE_NOTHROW(idp.receive_authn_request(redirect_request(authn_request(p), &f.sp_sign_key)));
  p = {};
  p.swap_order = true;
  REQUIRE(refuse(p) == ErrorCode::schema_invalid);

  HttpRequest not_a_request =
      redirect_request("<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:"
                       "protocol\"/>",
                       nullptr);
  REQUIRE_THROWS_AS(idp.receive_authn_request(not_a_request), Error);
  HttpRequest nothing;
  nothing.raw_query = "foo=bar";
  REQUIRE(code_of([&] { (void)idp.receive_authn_request(nothing); }) == ErrorCode::request_invalid);
}

TEST_CASE("idp: the ACS must come from the SP's metadata", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  int n = 0;
  const auto receive = [&](RequestParams p) {
    p.id = "_acs" + std::to_string(++n); // request IDs are single-use
    return idp.receive_authn_request(redirect_request(authn_request(p), &f.sp_sign_key));
  };
  RequestParams p;
  p.acs_url = "https://evil.example.org/acs";
  REQUIRE(code_of([&] { (void)receive(p); }) == ErrorCode::request_invalid);
  p.acs_url = acs_redirect; // known, but not an HTTP-POST endpoint
  REQUIRE(code_of([&] { (void)receive(p); }) == ErrorCode::request_invalid);
  p.acs_url = acs_second;
  REQUIRE(receive(p).acs_url == acs_second);
  p.acs_url.reset();
  p.acs_index = "0";
  REQUIRE(receive(p).acs_url == acs_main);
  p.acs_index = "7";
  REQUIRE(code_of([&] { (void)receive(p); }) == ErrorCode::request_invalid);
  p.acs_index.reset();
  REQUIRE(receive(p).acs_url == acs_second); // isDefault
}

TEST_CASE("idp: builds a schema-valid signed response", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  const ReceivedAuthnRequest req =
      idp.receive_authn_request(redirect_request(authn_request(), &f.sp_sign_key));
  const std::string xml = idp.build_response(req, clara(), ResponseOptions{});

  xml::DocPtr doc = xml::parse(xml, default_message_limit);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  xmlNode *root = xmlDocGetRootElement(doc.get());
  REQUIRE(xml::is(root, xml::ns_samlp, "Response"));
  REQUIRE(xml::attr(root, "Destination") == std::optional<std::string>(acs_main));
  REQUIRE(xml::attr(root, "InResponseTo") == std::optional<std::string>("_req0001"));
  REQUIRE(xml::attr(root, "IssueInstant") == std::optional<std::string>("2025-06-01T12:00:00Z"));
  REQUIRE(xml::attr(root, "ID").value_or("").size() > 16);
  REQUIRE(xml::first_child(root, xml::ns_ds, "Signature") == nullptr);
  REQUIRE(xml::attr(
              xml::first_child(xml::first_child(root, xml::ns_samlp, "Status"), xml::ns_samlp, "StatusCode"),
              "Value") == std::optional<std::string>("urn:oasis:names:tc:SAML:2.0:status:Success"));

  const auto assertions = xml::children(root, xml::ns_saml, "Assertion");
  REQUIRE(assertions.size() == 1);
  xmlNode *a = assertions.front();
  REQUIRE(xml::attr(a, "ID") != xml::attr(root, "ID"));
  // Signature right after Issuer, verifiable with the IdP key.
  const auto kids = xml::element_children(a);
  REQUIRE(kids.size() >= 2);
  REQUIRE(xml::is(kids[0], xml::ns_saml, "Issuer"));
  REQUIRE(xml::is(kids[1], xml::ns_ds, "Signature"));
  add_id(doc.get(), a);
  REQUIRE_NOTHROW(xmlsec::verify_enveloped(doc.get(), a, {f.idp_key.public_key()}, AlgorithmPolicy{}));

  xmlNode *subject = xml::first_child(a, xml::ns_saml, "Subject");
  xmlNode *name_id = xml::first_child(subject, xml::ns_saml, "NameID");
  REQUIRE(xml::text(name_id) == "_transient-1234");
  REQUIRE(xml::attr(name_id, "NameQualifier") == std::optional<std::string>(idp_id));
  REQUIRE(xml::attr(name_id, "SPNameQualifier") == std::optional<std::string>(sp_id));
  xmlNode *scd = xml::descendants(subject, xml::ns_saml, "SubjectConfirmationData").at(0);
  REQUIRE(xml::attr(scd, "Recipient") == std::optional<std::string>(acs_main));
  REQUIRE(xml::attr(scd, "InResponseTo") == std::optional<std::string>("_req0001"));
  REQUIRE(xml::attr(scd, "NotOnOrAfter") == std::optional<std::string>("2025-06-01T12:05:00Z"));
  REQUIRE(xml::attr(xml::first_child(subject, xml::ns_saml, "SubjectConfirmation"), "Method") ==
          std::optional<std::string>("urn:oasis:names:tc:SAML:2.0:cm:bearer"));
  xmlNode *cond = xml::first_child(a, xml::ns_saml, "Conditions");
  REQUIRE(xml::attr(cond, "NotBefore") == std::optional<std::string>("2025-06-01T12:00:00Z"));
  REQUIRE(xml::text(xml::descendants(cond, xml::ns_saml, "Audience").at(0)) == sp_id);
  xmlNode *authn = xml::first_child(a, xml::ns_saml, "AuthnStatement");
  REQUIRE(xml::attr(authn, "SessionIndex") == std::optional<std::string>("_session-1"));
  REQUIRE(xml::text(xml::descendants(authn, xml::ns_saml, "AuthnContextClassRef").at(0)) ==
          "STORK-QAA-Level-3");

  const auto attrs = xml::descendants(a, xml::ns_saml, "Attribute");
  REQUIRE(attrs.size() == 4);
  REQUIRE(xml::attr(attrs[0], "Name") == std::optional<std::string>("urn:oid:2.5.4.42"));
  REQUIRE(xml::attr(attrs[0], "NameFormat") ==
          std::optional<std::string>("urn:oasis:names:tc:SAML:2.0:attrname-format:uri"));
  REQUIRE(xml::attr(attrs[0], "FriendlyName") == std::optional<std::string>("givenName"));
  REQUIRE(xml::attr_ns(attrs[0], xml::ns_akdb, "TrustLevel") == std::optional<std::string>("SUBSTANTIELL"));
  REQUIRE_FALSE(xml::attr(attrs[1], "FriendlyName").has_value());
  REQUIRE_FALSE(xml::attr_ns(attrs[1], xml::ns_akdb, "TrustLevel").has_value());
  const auto values = xml::children(attrs[3], xml::ns_saml, "AttributeValue");
  REQUIRE(values.size() == 2);
  REQUIRE(xml::text(values[0]) == "a & b");
  REQUIRE(xml::text(values[1]) == "<c>");
  REQUIRE(xml::attr_ns(values[0], xml::ns_xsi, "type") == std::optional<std::string>("xs:string"));

  // Tampering with the signed assertion is detected.
  xmlNodeSetContent(name_id, xc("_someone-else"));
  REQUIRE(code_of([&] {
            (void)xmlsec::verify_enveloped(doc.get(), a, {f.idp_key.public_key()}, AlgorithmPolicy{});
          }) == ErrorCode::signature_invalid);
}

TEST_CASE("idp: signs and encrypts the assertion, signs the response", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  const ReceivedAuthnRequest req =
      idp.receive_authn_request(redirect_request(authn_request(), &f.sp_sign_key));
  ResponseOptions opt;
  opt.encrypt_assertion = true;
  opt.sign_response = true;
  const std::string xml = idp.build_response(req, clara(), opt);
  REQUIRE(xml.find("CLARA") == std::string::npos);

  xml::DocPtr doc = xml::parse(xml, default_message_limit);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  xmlNode *root = xmlDocGetRootElement(doc.get());
  const auto kids = xml::element_children(root);
  REQUIRE(kids.size() == 4);
  REQUIRE(xml::is(kids[0], xml::ns_saml, "Issuer"));
  REQUIRE(xml::is(kids[1], xml::ns_ds, "Signature"));
  REQUIRE(xml::is(kids[2], xml::ns_samlp, "Status"));
  REQUIRE(xml::is(kids[3], xml::ns_saml, "EncryptedAssertion"));
  add_id(doc.get(), root);
  REQUIRE_NOTHROW(xmlsec::verify_enveloped(doc.get(), root, {f.idp_key.public_key()}, AlgorithmPolicy{}));

  xmlNode *enc = xml::first_child(kids[3], xml::ns_xenc, "EncryptedData");
  REQUIRE(enc != nullptr);
  const std::string plain = xmlsec::decrypt_data(doc.get(), enc, {f.sp_enc_key}, AlgorithmPolicy{});
  xml::DocPtr adoc = xml::parse(plain, default_message_limit);
  xmlNode *a = xmlDocGetRootElement(adoc.get());
  REQUIRE(xml::is(a, xml::ns_saml, "Assertion"));
  add_id(adoc.get(), a);
  REQUIRE_NOTHROW(xmlsec::verify_enveloped(adoc.get(), a, {f.idp_key.public_key()}, AlgorithmPolicy{}));
  REQUIRE(xml::text(xml::descendants(a, xml::ns_saml, "AttributeValue").at(0)) == "CLARA");
  // The wrong key cannot decrypt.
  REQUIRE(code_of([&] { (void)xmlsec::decrypt_data(doc.get(), enc, {f.sp_sign_key}, AlgorithmPolicy{}); }) ==
          ErrorCode::decryption_failed);
}

TEST_CASE("idp: signs with an EC key", "[idp]") {
  Fixture f;
  f.idp_key = test::ec_key("prime256v1");
  f.idp_cert = *test::self_signed_cert(f.idp_key, "EC IdP").certificate;
  const IdentityProvider idp = f.idp();
  const ReceivedAuthnRequest req =
      idp.receive_authn_request(redirect_request(authn_request(), &f.sp_sign_key));
  const std::string xml = idp.build_response(req, clara(), ResponseOptions{});
  xml::DocPtr doc = xml::parse(xml, default_message_limit);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  xmlNode *a = xml::first_child(xmlDocGetRootElement(doc.get()), xml::ns_saml, "Assertion");
  add_id(doc.get(), a);
  const auto v = xmlsec::verify_enveloped(doc.get(), a, {f.idp_key.public_key()}, AlgorithmPolicy{});
  REQUIRE(v.signature_method == alg::ecdsa_sha256);
}

TEST_CASE("idp: error response", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  const ReceivedAuthnRequest req =
      idp.receive_authn_request(redirect_request(authn_request(), &f.sp_sign_key));
  const std::string xml = idp.build_error_response(req, "urn:oasis:names:tc:SAML:2.0:status:Responder",
                                                   "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed");
  xml::DocPtr doc = xml::parse(xml, default_message_limit);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  xmlNode *root = xmlDocGetRootElement(doc.get());
  REQUIRE(xml::attr(root, "InResponseTo") == std::optional<std::string>("_req0001"));
  REQUIRE(xml::children(root, xml::ns_saml, "Assertion").empty());
  REQUIRE(xml::children(root, xml::ns_saml, "EncryptedAssertion").empty());
  xmlNode *top =
      xml::first_child(xml::first_child(root, xml::ns_samlp, "Status"), xml::ns_samlp, "StatusCode");
  REQUIRE(xml::attr(top, "Value") ==
          std::optional<std::string>("urn:oasis:names:tc:SAML:2.0:status:Responder"));
  REQUIRE(xml::attr(xml::first_child(top, xml::ns_samlp, "StatusCode"), "Value") ==
          std::optional<std::string>("urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"));
  add_id(doc.get(), root);
  REQUIRE_NOTHROW(xmlsec::verify_enveloped(doc.get(), root, {f.idp_key.public_key()}, AlgorithmPolicy{}));

  const std::string plain = idp.build_error_response(req, "urn:oasis:names:tc:SAML:2.0:status:Requester");
  xml::DocPtr doc2 = xml::parse(plain, default_message_limit);
  REQUIRE_NOTHROW(xml::validate_schema(doc2.get()));
  xmlNode *top2 =
      xml::first_child(xml::first_child(xmlDocGetRootElement(doc2.get()), xml::ns_samlp, "Status"),
                       xml::ns_samlp, "StatusCode");
  REQUIRE(xml::first_child(top2, xml::ns_samlp, "StatusCode") == nullptr);
}

TEST_CASE("idp: POST response page", "[idp]") {
  const Fixture f;
  const IdentityProvider idp = f.idp();
  const ReceivedAuthnRequest req =
      idp.receive_authn_request(redirect_request(authn_request(), &f.sp_sign_key));
  const std::string xml = idp.build_response(req, clara(), ResponseOptions{});
  const HttpResponse r = idp.post_response(req, xml);
  REQUIRE(r.status == 200);
  REQUIRE(r.header("Content-Type") == std::optional<std::string_view>("text/html; charset=utf-8"));
  REQUIRE(r.header("Cache-Control") == std::optional<std::string_view>("no-store"));
  REQUIRE(r.header("Content-Security-Policy") == std::optional<std::string_view>(post_form_csp(acs_main)));
  REQUIRE(r.body.find("action=\"https://sp.example.org/saml/acs\"") != std::string::npos);
  REQUIRE(r.body.find("name=\"SAMLResponse\" value=\"" + base64_encode(xml) + "\"") != std::string::npos);
  REQUIRE(r.body.find("name=\"RelayState\" value=\"rs-42\"") != std::string::npos);
}

TEST_CASE("idp: metadata", "[idp]") {
  const Fixture f;
  const std::string md = f.idp().metadata_xml();
  xml::DocPtr doc = xml::parse(md, 1 << 20);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  const auto entities = parse_metadata(md);
  REQUIRE(entities.size() == 1);
  const Entity &e = *entities.front();
  REQUIRE(e.entity_id == idp_id);
  REQUIRE(e.idp.has_value());
  REQUIRE(e.idp->want_authn_requests_signed);
  REQUIRE(e.idp->sso_endpoint(binding::redirect) != nullptr);
  REQUIRE(e.idp->sso_endpoint(binding::redirect)->location == sso_url);
  REQUIRE(e.idp->sso_endpoint(binding::post) != nullptr);
  const auto keys = e.idp->signing_keys();
  REQUIRE(keys.size() == 1);
  REQUIRE(keys.front() == f.idp_key.public_key());
}

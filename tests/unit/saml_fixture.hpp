// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Builds SAML Responses for the SP tests: a valid baseline that each test
// changes in exactly one respect. Signing and encryption use the library's
// xmlsec code (independent vectors are checked in tests/interop).

#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/sp.hpp"
#include "unit/test_keys.hpp"

namespace interkonto::test {

inline constexpr const char *kIdp = "https://idp.nrw.example/saml";
inline constexpr const char *kSp = "https://sp.thueringen.example/saml";
inline constexpr const char *kAcs = "https://sp.thueringen.example/saml/acs";
inline constexpr const char *kRequestId = "_req-4711";

// 2026-05-04T10:00:00Z: the instant every test response is issued at.
inline TimePoint base_time() {
  return *parse_datetime("2026-05-04T10:00:00Z");
}

inline const Credential &idp_credential() {
  static const Credential c = self_signed_cert(rsa_key(2048, 0), "idp.nrw.example");
  return c;
}
inline const Credential &sp_encryption_credential() {
  static const Credential c = self_signed_cert(rsa_key(2048, 1), "sp.thueringen.example enc");
  return c;
}
inline const Credential &attacker_credential() {
  static const Credential c = self_signed_cert(rsa_key(2048, 2), "attacker.example");
  return c;
}

inline std::string idp_metadata_xml(const Credential &cred, const std::string &entity_id = kIdp,
                                    const std::string &valid_until = {}) {
  return fmt::format(
      R"(<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{0}"{2}>
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{1}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{0}/sso"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{0}/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>)",
      entity_id, cred.certificate->base64(),
      valid_until.empty() ? "" : fmt::format(" validUntil=\"{}\"", valid_until));
}

inline EntityPtr idp_entity(const Credential &cred = idp_credential(), const std::string &entity_id = kIdp,
                            const std::string &valid_until = {}) {
  return parse_metadata(idp_metadata_xml(cred, entity_id, valid_until)).front();
}

struct ResponseSpec {
  std::string response_id = "_resp-1";
  std::string assertion_id = "_assert-1";
  std::string issuer = kIdp;                         // assertion issuer
  std::optional<std::string> response_issuer = kIdp; // nullopt: omitted
  std::optional<std::string> destination = kAcs;
  std::optional<std::string> in_response_to = kRequestId;
  std::optional<std::string> sc_in_response_to = kRequestId;
  std::string status = "urn:oasis:names:tc:SAML:2.0:status:Success";
  std::string sc_method = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
  std::optional<std::string> recipient = kAcs;
  std::vector<std::string> audiences = {kSp}; // one AudienceRestriction with these
  bool conditions = true;
  TimePoint issued = base_time();
  std::chrono::seconds lifetime{300};
  std::optional<std::chrono::seconds> sc_lifetime; // default: lifetime
  std::string name_id = "AAdzZWNyZXQxMjM0NTY3ODkw";
  std::string name_id_xml; // raw NameID content when set
  std::optional<std::string> class_ref = "STORK-QAA-Level-3";
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes = {
      {"urn:oid:2.5.4.42", {"Clara"}}, {"urn:oid:2.5.4.4", {"Schmidt"}}, {"urn:oid:2.5.4.7", {"Düsseldorf"}}};
  std::string extra_assertion_xml; // appended inside the Assertion (before the end tag)
  bool sign_assertion = true;
  bool sign_response = false;
  bool encrypt = false;
  xmlsec::EncryptionParams encryption;
  std::string signature_method{alg::rsa_sha256};
  std::string digest_method{alg::sha256};
  const Credential *signer = nullptr;      // default: idp_credential()
  const Credential *encrypt_for = nullptr; // default: sp_encryption_credential()
};

inline std::string assertion_xml(const ResponseSpec &s) {
  const auto sc_life = s.sc_lifetime.value_or(s.lifetime);
  const std::string noa = format_datetime(s.issued + s.lifetime);
  const std::string sc_noa = format_datetime(s.issued + sc_life);
  const std::string now = format_datetime(s.issued);
  std::string attrs;
  for (const auto &[name, values] : s.attributes) {
    attrs += fmt::format(
        R"(<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">)", name);
    for (const auto &v : values)
      attrs += fmt::format(R"(<saml:AttributeValue xsi:type="xs:string">{}</saml:AttributeValue>)", v);
    attrs += "</saml:Attribute>";
  }
  std::string aud;
  if (s.conditions) {
    aud = fmt::format(R"(<saml:Conditions NotBefore="{}" NotOnOrAfter="{}">)", now, noa);
    if (!s.audiences.empty()) {
      aud += "<saml:AudienceRestriction>";
      for (const auto &a : s.audiences) aud += fmt::format("<saml:Audience>{}</saml:Audience>", a);
      aud += "</saml:AudienceRestriction>";
    }
    aud += "</saml:Conditions>";
  }
  return fmt::format(
      R"(<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{id}" Version="2.0" IssueInstant="{now}">)"
      R"(<saml:Issuer>{issuer}</saml:Issuer>)"
      R"(<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="{issuer}" SPNameQualifier="{sp}">{nameid}</saml:NameID>)"
      R"(<saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData NotOnOrAfter="{scnoa}"{recipient}{scirt}/></saml:SubjectConfirmation></saml:Subject>)"
      R"({conditions})"
      R"(<saml:AuthnStatement AuthnInstant="{now}" SessionIndex="_session-1"><saml:AuthnContext>{classref}</saml:AuthnContext></saml:AuthnStatement>)"
      R"(<saml:AttributeStatement>{attrs}</saml:AttributeStatement>{extra}</saml:Assertion>)",
      fmt::arg("id", s.assertion_id), fmt::arg("now", now), fmt::arg("issuer", s.issuer), fmt::arg("sp", kSp),
      fmt::arg("nameid", s.name_id_xml.empty() ? s.name_id : s.name_id_xml), fmt::arg("method", s.sc_method),
      fmt::arg("scnoa", sc_noa),
      fmt::arg("recipient", s.recipient ? fmt::format(R"( Recipient="{}")", *s.recipient) : std::string()),
      fmt::arg("scirt", s.sc_in_response_to ? fmt::format(R"( InResponseTo="{}")", *s.sc_in_response_to)
                                            : std::string()),
      fmt::arg("conditions", aud),
      fmt::arg("classref",
               s.class_ref
                   ? fmt::format("<saml:AuthnContextClassRef>{}</saml:AuthnContextClassRef>", *s.class_ref)
                   : std::string("<saml:AuthnContextDeclRef>urn:x-test:none</saml:AuthnContextDeclRef>")),
      fmt::arg("attrs", attrs), fmt::arg("extra", s.extra_assertion_xml));
}

// A complete Response, signed/encrypted as the spec says.
inline std::string build_response(const ResponseSpec &s) {
  const Credential &signer = s.signer ? *s.signer : idp_credential();
  const std::string status_xml =
      fmt::format(R"(<samlp:Status><samlp:StatusCode Value="{}"/></samlp:Status>)", s.status);
  const bool success = s.status == "urn:oasis:names:tc:SAML:2.0:status:Success";
  std::string xml = fmt::format(
      R"(<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{}" Version="2.0" IssueInstant="{}"{}{}>{}{}{}</samlp:Response>)",
      s.response_id, format_datetime(s.issued),
      s.destination ? fmt::format(R"( Destination="{}")", *s.destination) : std::string(),
      s.in_response_to ? fmt::format(R"( InResponseTo="{}")", *s.in_response_to) : std::string(),
      s.response_issuer ? fmt::format("<saml:Issuer>{}</saml:Issuer>", *s.response_issuer) : std::string(),
      status_xml, success ? assertion_xml(s) : std::string());
  if (!success) return xml;
  xml::DocPtr doc = xml::parse(xml, 1 << 20);
  xmlNode *root = xmlDocGetRootElement(doc.get());
  xmlNode *assertion = xml::first_child(root, xml::ns_saml, "Assertion");
  if (s.sign_assertion)
    xmlsec::sign_enveloped(doc.get(), assertion, xml::first_child(assertion, xml::ns_saml, "Issuer"),
                           signer.key, s.signature_method, s.digest_method, &*signer.certificate);
  if (s.encrypt) {
    const Credential &rcpt = s.encrypt_for ? *s.encrypt_for : sp_encryption_credential();
    // The Response's own saml namespace: the assertion's declaration goes away with it.
    xmlNs *saml = xmlSearchNsByHref(doc.get(), root, reinterpret_cast<const xmlChar *>(xml::ns_saml));
    xmlNode *ea =
        xmlNewDocNode(doc.get(), saml, reinterpret_cast<const xmlChar *>("EncryptedAssertion"), nullptr);
    xmlAddPrevSibling(assertion, ea);
    xmlUnlinkNode(assertion);
    xmlAddChild(ea, assertion);
    xmlsec::encrypt_element(doc.get(), assertion, rcpt.key.public_key(), s.encryption, &*rcpt.certificate);
  }
  if (s.sign_response)
    xmlsec::sign_enveloped(doc.get(), root, xml::first_child(root, xml::ns_saml, "Issuer"), signer.key,
                           s.signature_method, s.digest_method, &*signer.certificate);
  return xml::serialize(doc.get(), root);
}

// The baseline check an SP at kSp/kAcs applies at base_time() + 1 minute.
inline ResponseCheck base_check() {
  ResponseCheck c;
  c.sp_entity_id = kSp;
  c.acs_url = kAcs;
  c.in_response_to = kRequestId;
  c.now = base_time() + std::chrono::minutes(1);
  return c;
}

inline std::vector<IdpSettings> idp_settings(EntityPtr e = idp_entity()) {
  IdpSettings s;
  s.entity = std::move(e);
  return {s};
}

inline std::string replace_once(std::string s, const std::string &from, const std::string &to) {
  const auto pos = s.find(from);
  if (pos == std::string::npos) throw std::runtime_error("test fixture: '" + from + "' not found");
  return s.replace(pos, from.size(), to);
}

} // namespace interkonto::test

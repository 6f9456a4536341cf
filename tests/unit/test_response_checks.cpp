// SPDX-License-Identifier: EUPL-1.2
// Every check of DESIGN.md "Response checks": each test starts from a valid
// response and breaks exactly one thing, so removing the check fails it.

#include <catch2/catch.hpp>

#include <cstdlib>

#include "unit/saml_fixture.hpp"

using namespace interkonto;
using namespace interkonto::test;

namespace {

std::shared_ptr<InMemoryReplayCache> fresh_cache() {
  return std::make_shared<InMemoryReplayCache>();
}

ResponseValidator validator(std::vector<IdpSettings> idps = idp_settings(),
                            std::vector<PrivateKey> keys = {sp_encryption_credential().key},
                            std::shared_ptr<ReplayCache> cache = fresh_cache()) {
  return ResponseValidator(std::move(idps), std::move(keys), std::move(cache));
}

ErrorCode code_of(const std::string &response, const ResponseCheck &check = base_check()) {
  try {
    validator().validate(response, check);
  } catch (const Error &e) {
    return e.code();
  }
  FAIL("the response was accepted");
  return ErrorCode::internal;
}

AuthnResult accept(const std::string &response, const ResponseCheck &check = base_check()) {
  try {
    return validator().validate(response, check);
  } catch (const Error &e) {
    FAIL("rejected: " << e.what());
    throw;
  }
}

ResponseSpec spec() {
  return ResponseSpec{};
}

} // namespace

TEST_CASE("a valid signed response is accepted with every field read", "[sp][checks]") {
  const AuthnResult r = accept(build_response(spec()));
  CHECK(r.issuer == kIdp);
  CHECK(r.name_id == "AAdzZWNyZXQxMjM0NTY3ODkw");
  CHECK(r.name_id_format ==
        std::optional<std::string>("urn:oasis:names:tc:SAML:2.0:nameid-format:transient"));
  CHECK(r.session_index == std::optional<std::string>("_session-1"));
  CHECK(r.authn_context_class_ref == std::optional<std::string>("STORK-QAA-Level-3"));
  CHECK(format_datetime(r.not_on_or_after) == "2026-05-04T10:05:00Z");
  REQUIRE(r.attribute("urn:oid:2.5.4.7") != nullptr);
  CHECK(r.attribute("urn:oid:2.5.4.7")->values == std::vector<std::string>{"Düsseldorf"});
  CHECK(r.assertion_id == "_assert-1");
  CHECK_FALSE(r.was_encrypted);
}

TEST_CASE("notOnOrAfter is the earlier of Conditions and the bearer confirmation", "[sp][checks]") {
  auto s = spec();
  s.sc_lifetime = std::chrono::seconds(120);
  CHECK(format_datetime(accept(build_response(s)).not_on_or_after) == "2026-05-04T10:02:00Z");
}

TEST_CASE("size limit", "[sp][checks]") {
  auto check = base_check();
  check.max_size = 2000;
  CHECK(code_of(build_response(spec()), check) == ErrorCode::too_large);
}

TEST_CASE("DTDs, entity expansion and external entities are refused", "[sp][checks][attack]") {
  const std::string body = build_response(spec());
  SECTION("plain DOCTYPE") {
    CHECK(code_of("<!DOCTYPE samlp:Response>" + body) == ErrorCode::dtd_forbidden);
  }
  SECTION("billion laughs") {
    const std::string bomb =
        R"(<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>)";
    CHECK(code_of(bomb + replace_once(body, "Clara", "&lol3;")) == ErrorCode::dtd_forbidden);
  }
  SECTION("XXE") {
    const std::string xxe =
        R"(<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>)";
    CHECK(code_of(xxe + replace_once(body, "Clara", "&xxe;")) == ErrorCode::dtd_forbidden);
  }
  SECTION("undeclared entity reference without a DTD") {
    CHECK(code_of(replace_once(body, "Clara", "&xxe;")) == ErrorCode::malformed);
  }
}

TEST_CASE("malformed input and bad base64", "[sp][checks]") {
  CHECK(code_of("<samlp:Response") == ErrorCode::malformed);
  CHECK(code_of("this is not base64 !!!") == ErrorCode::malformed);
  CHECK(code_of("") == ErrorCode::malformed);
  CHECK(code_of("<foo/>") == ErrorCode::malformed);
}

TEST_CASE("base64 input (with line breaks) is accepted like XML", "[sp][checks]") {
  std::string b64 = base64_encode(build_response(spec()));
  for (std::size_t i = 76; i < b64.size(); i += 77) b64.insert(i, "\n");
  CHECK(accept(b64).issuer == kIdp);
  CHECK(accept("\xEF\xBB\xBF  \n" + build_response(spec())).issuer == kIdp); // BOM + blanks before '<'
}

TEST_CASE("schema validation is on by default", "[sp][checks]") {
  // An unknown element in the protocol namespace: everything else ignores it.
  auto s = spec();
  s.sign_assertion = true;
  const std::string bad = replace_once(build_response(s), "<samlp:Status>", "<samlp:Bogus/><samlp:Status>");
  CHECK(code_of(bad) == ErrorCode::schema_invalid);
  auto off = base_check();
  off.schema_validation = false;
  CHECK_NOTHROW(validator().validate(bad, off));
}

TEST_CASE("signature required, by a key from metadata", "[sp][checks][attack]") {
  SECTION("unsigned") {
    auto s = spec();
    s.sign_assertion = false;
    CHECK(code_of(build_response(s)) == ErrorCode::signature_missing);
  }
  SECTION("signature stripped") {
    std::string xml = build_response(spec());
    const auto a = xml.find("<ds:Signature");
    const auto b = xml.find("</ds:Signature>");
    REQUIRE(a != std::string::npos);
    xml.erase(a, b + 15 - a);
    CHECK(code_of(xml) == ErrorCode::signature_missing);
  }
  SECTION("tampered content") {
    CHECK(code_of(replace_once(build_response(spec()), "Schmidt", "Schmitt")) ==
          ErrorCode::signature_invalid);
  }
  SECTION("signed by a foreign key carried in KeyInfo") {
    auto s = spec();
    s.signer = &attacker_credential();
    const ErrorCode c = code_of(build_response(s));
    CHECK((c == ErrorCode::untrusted_key || c == ErrorCode::signature_invalid));
  }
  SECTION("a signed Response is enough when the assertion is not signed") {
    auto s = spec();
    s.sign_assertion = false;
    s.sign_response = true;
    CHECK(accept(build_response(s)).issuer == kIdp);
  }
  SECTION("a tampered signed Response is refused even with a valid assertion signature") {
    auto s = spec();
    s.sign_response = true;
    const std::string xml = build_response(s);
    CHECK(code_of(replace_once(xml, "IssueInstant=\"2026-05-04T10:00:00Z\"",
                               "IssueInstant=\"2026-05-04T10:00:01Z\"")) == ErrorCode::signature_invalid);
  }
}

TEST_CASE("SHA-1 is refused unless the policy allows it", "[sp][checks]") {
  auto s = spec();
  s.signature_method = std::string(alg::rsa_sha1);
  s.digest_method = std::string(alg::sha1);
  const std::string xml = build_response(s);
  CHECK(code_of(xml) == ErrorCode::algorithm_refused);
  auto idps = idp_settings();
  idps[0].policy.allow_sha1 = true;
  CHECK_NOTHROW(validator(idps).validate(xml, base_check()));
}

TEST_CASE("signature wrapping is refused", "[sp][checks][attack]") {
  const std::string good = build_response(spec());
  const auto a0 = good.find("<saml:Assertion");
  const auto a1 = good.find("</saml:Assertion>") + 17;
  const std::string signed_assertion = good.substr(a0, a1 - a0);
  auto evil_spec = spec();
  evil_spec.name_id = "evil";
  evil_spec.assertion_id = "_evil";
  const std::string evil = assertion_xml(evil_spec); // unsigned

  SECTION("two assertions, the signed one second") {
    CHECK(code_of(replace_once(good, signed_assertion, evil + signed_assertion)) == ErrorCode::wrapping);
  }
  SECTION("signed assertion hidden in Extensions, evil one in its place") {
    const std::string moved =
        replace_once(replace_once(good, signed_assertion, evil), "<samlp:Status>",
                     "<samlp:Extensions>" + signed_assertion + "</samlp:Extensions><samlp:Status>");
    CHECK(code_of(moved) == ErrorCode::wrapping);
  }
  SECTION("evil assertion carrying the signed assertion's ID and its signature") {
    const std::string sig = signed_assertion.substr(signed_assertion.find("<ds:Signature"),
                                                    signed_assertion.find("</ds:Signature>") + 15 -
                                                        signed_assertion.find("<ds:Signature"));
    auto same_id = evil_spec;
    same_id.assertion_id = "_assert-1";
    std::string forged = assertion_xml(same_id);
    forged = replace_once(forged, "</saml:Issuer>", "</saml:Issuer>" + sig);
    try {
      validator().validate(replace_once(good, signed_assertion, forged), base_check());
      FAIL("forged assertion accepted");
    } catch (const Error &e) {
      CHECK((e.code() == ErrorCode::signature_invalid || e.code() == ErrorCode::wrapping));
    }
  }
  SECTION("evil assertion with the signed one nested in its Advice") {
    // Advice comes right after Conditions in schema order.
    const std::string forged = replace_once(
        evil, "</saml:Conditions>", "</saml:Conditions><saml:Advice>" + signed_assertion + "</saml:Advice>");
    CHECK(code_of(replace_once(good, signed_assertion, forged)) == ErrorCode::wrapping);
  }
  SECTION("signature whose Reference points at another element") {
    // Response-level signature over the Response, then the Response ID changed
    // and an element with the old ID added elsewhere.
    auto s = spec();
    s.sign_assertion = false;
    s.sign_response = true;
    std::string xml = build_response(s);
    xml = replace_once(xml, "ID=\"_resp-1\"", "ID=\"_resp-2\"");
    const ErrorCode c = code_of(xml);
    CHECK((c == ErrorCode::wrapping || c == ErrorCode::signature_invalid));
  }
  SECTION("duplicate ID through xml:id") {
    const std::string xml = replace_once(good, "<samlp:Status>", "<samlp:Status xml:id=\"_assert-1\">");
    const ErrorCode c = code_of(xml);
    CHECK((c == ErrorCode::wrapping || c == ErrorCode::schema_invalid));
  }
}

TEST_CASE("comments never truncate a value", "[sp][checks][attack]") {
  auto s = spec();
  s.name_id_xml = "clara@nrw.example<!-- injected -->.evil.example";
  s.attributes = {{"urn:oid:2.5.4.42", {"Cla<!---->ra"}}};
  const AuthnResult r = accept(build_response(s));
  CHECK(r.name_id == "clara@nrw.example.evil.example");
  CHECK(r.attribute("urn:oid:2.5.4.42")->values == std::vector<std::string>{"Clara"});
}

TEST_CASE("issuer must be a known IdP with valid metadata", "[sp][checks]") {
  SECTION("unknown issuer") {
    auto s = spec();
    s.issuer = "https://idp.unknown.example";
    s.response_issuer = "https://idp.unknown.example";
    CHECK(code_of(build_response(s)) == ErrorCode::unknown_issuer);
  }
  SECTION("response and assertion issuer differ") {
    auto s = spec();
    s.response_issuer = "https://other.example";
    auto idps = idp_settings();
    idps.push_back(idp_settings(idp_entity(idp_credential(), "https://other.example"))[0]);
    try {
      validator(idps).validate(build_response(s), base_check());
      FAIL("accepted");
    } catch (const Error &e) {
      CHECK(e.code() == ErrorCode::issuer_mismatch);
    }
  }
  SECTION("metadata past validUntil") {
    auto idps = idp_settings(idp_entity(idp_credential(), kIdp, "2026-05-04T09:00:00Z"));
    try {
      validator(idps).validate(build_response(spec()), base_check());
      FAIL("accepted");
    } catch (const Error &e) {
      CHECK(e.code() == ErrorCode::untrusted_metadata);
    }
  }
}

TEST_CASE("Destination", "[sp][checks]") {
  SECTION("wrong") {
    auto s = spec();
    s.destination = "https://other.example/acs";
    CHECK(code_of(build_response(s)) == ErrorCode::destination_mismatch);
  }
  SECTION("required on a signed Response") {
    auto s = spec();
    s.destination.reset();
    s.sign_response = true;
    CHECK(code_of(build_response(s)) == ErrorCode::destination_mismatch);
  }
  SECTION("optional on an unsigned Response") {
    auto s = spec();
    s.destination.reset();
    CHECK(accept(build_response(s)).issuer == kIdp);
  }
}

TEST_CASE("bearer SubjectConfirmation", "[sp][checks]") {
  SECTION("Recipient wrong") {
    auto s = spec();
    s.recipient = "https://other.example/acs";
    CHECK(code_of(build_response(s)) == ErrorCode::recipient_mismatch);
  }
  SECTION("Recipient missing") {
    auto s = spec();
    s.recipient.reset();
    CHECK(code_of(build_response(s)) == ErrorCode::recipient_mismatch);
  }
  SECTION("no bearer method") {
    auto s = spec();
    s.sc_method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key";
    CHECK(code_of(build_response(s)) == ErrorCode::subject_confirmation_invalid);
  }
  SECTION("confirmation expired") {
    auto s = spec();
    s.sc_lifetime = std::chrono::seconds(10);
    auto check = base_check();
    check.now = base_time() + std::chrono::seconds(10 + 180);
    CHECK(code_of(build_response(s), check) == ErrorCode::expired);
  }
}

TEST_CASE("AudienceRestriction present and naming this SP", "[sp][checks]") {
  SECTION("other audience") {
    auto s = spec();
    s.audiences = {"https://other-sp.example"};
    CHECK(code_of(build_response(s)) == ErrorCode::audience_mismatch);
  }
  SECTION("no AudienceRestriction") {
    auto s = spec();
    s.audiences.clear();
    CHECK(code_of(build_response(s)) == ErrorCode::audience_mismatch);
  }
  SECTION("no Conditions") {
    auto s = spec();
    s.conditions = false;
    CHECK(code_of(build_response(s)) == ErrorCode::audience_mismatch);
  }
  SECTION("every restriction must name this SP") {
    auto s = spec();
    s.sign_assertion = false;
    const std::string unsigned_resp = replace_once(
        build_response(s), "</saml:AudienceRestriction>",
        "</saml:AudienceRestriction><saml:AudienceRestriction><saml:Audience>https://other.example"
        "</saml:Audience></saml:AudienceRestriction>");
    xml::DocPtr doc = xml::parse(unsigned_resp, 1 << 20);
    xmlNode *root = xmlDocGetRootElement(doc.get());
    xmlNode *assertion = xml::first_child(root, xml::ns_saml, "Assertion");
    xmlsec::sign_enveloped(doc.get(), assertion, xml::first_child(assertion, xml::ns_saml, "Issuer"),
                           idp_credential().key, alg::rsa_sha256, alg::sha256, nullptr);
    CHECK(code_of(xml::serialize(doc.get(), root)) == ErrorCode::audience_mismatch);
  }
}

TEST_CASE("InResponseTo", "[sp][checks]") {
  SECTION("another request") {
    auto check = base_check();
    check.in_response_to = "_other";
    CHECK(code_of(build_response(spec()), check) == ErrorCode::in_response_to_mismatch);
  }
  SECTION("a response to a request while none is expected") {
    auto check = base_check();
    check.in_response_to.reset();
    check.allow_unsolicited = true;
    CHECK(code_of(build_response(spec()), check) == ErrorCode::in_response_to_mismatch);
  }
  SECTION("unsolicited refused by default") {
    auto s = spec();
    s.in_response_to.reset();
    s.sc_in_response_to.reset();
    auto check = base_check();
    check.in_response_to.reset();
    CHECK(code_of(build_response(s), check) == ErrorCode::unsolicited);
    check.allow_unsolicited = true;
    CHECK(accept(build_response(s), check).issuer == kIdp);
  }
  SECTION("SubjectConfirmationData InResponseTo differs") {
    auto s = spec();
    s.sc_in_response_to = "_other";
    CHECK(code_of(build_response(s)) == ErrorCode::in_response_to_mismatch);
  }
  SECTION("Response without InResponseTo while one is expected") {
    auto s = spec();
    s.in_response_to.reset();
    CHECK(code_of(build_response(s)) == ErrorCode::in_response_to_mismatch);
  }
}

TEST_CASE("time windows with clock skew", "[sp][checks]") {
  const std::string xml = build_response(spec()); // valid 10:00:00 .. 10:05:00
  auto check = base_check();
  SECTION("not yet valid beyond the skew") {
    check.now = base_time() - std::chrono::seconds(181);
    CHECK(code_of(xml, check) == ErrorCode::not_yet_valid);
  }
  SECTION("early within the skew") {
    check.now = base_time() - std::chrono::seconds(180);
    CHECK(accept(xml, check).issuer == kIdp);
  }
  SECTION("expired: now == NotOnOrAfter + skew") {
    check.now = base_time() + std::chrono::seconds(300 + 180);
    CHECK(code_of(xml, check) == ErrorCode::expired);
  }
  SECTION("last valid millisecond") {
    check.now = base_time() + std::chrono::seconds(300 + 180) - std::chrono::milliseconds(1);
    CHECK(accept(xml, check).issuer == kIdp);
  }
  SECTION("skew is configurable") {
    check.clock_skew = std::chrono::seconds(0);
    check.now = base_time() + std::chrono::seconds(300);
    CHECK(code_of(xml, check) == ErrorCode::expired);
  }
}

TEST_CASE("status must be Success and is reported even when unsigned", "[sp][checks]") {
  auto s = spec();
  s.status = "urn:oasis:names:tc:SAML:2.0:status:Responder";
  CHECK(code_of(build_response(s)) == ErrorCode::status_not_success);
  // Even with a wrong Destination and no signature, the status is what is reported.
  s.destination = "https://elsewhere.example";
  CHECK(code_of(build_response(s)) == ErrorCode::status_not_success);
}

TEST_CASE("replay cache keyed on issuer and assertion ID", "[sp][checks][attack]") {
  auto v = validator();
  const std::string xml = build_response(spec());
  CHECK_NOTHROW(v.validate(xml, base_check()));
  try {
    v.validate(xml, base_check());
    FAIL("replay accepted");
  } catch (const Error &e) {
    CHECK(e.code() == ErrorCode::replayed);
  }
}

TEST_CASE("AuthnContext must meet the requested minimum", "[sp][checks]") {
  auto check = base_check();
  check.min_trust_level = 3;
  SECTION("meets") {
    CHECK(accept(build_response(spec()), check).issuer == kIdp);
  }
  SECTION("below") {
    auto s = spec();
    s.class_ref = "STORK-QAA-Level-2";
    CHECK(code_of(build_response(s), check) == ErrorCode::authn_context_insufficient);
  }
  SECTION("none") {
    auto s = spec();
    s.class_ref.reset();
    CHECK(code_of(build_response(s), check) == ErrorCode::authn_context_insufficient);
  }
  SECTION("the lower of class ref and trust-level attribute counts") {
    auto s = spec();
    s.attributes.push_back({"urn:oid:1.2.40.0.10.2.1.1.261.94", {"STORK-QAA-Level-2"}});
    CHECK(code_of(build_response(s), check) == ErrorCode::authn_context_insufficient);
  }
}

TEST_CASE("LASSO_FLAG in the environment cannot weaken verification", "[sp][checks][attack]") {
  ::setenv("LASSO_FLAG", "no-verify-signature,no-verify-authn-request", 1);
  const ErrorCode c = code_of(replace_once(build_response(spec()), "Schmidt", "Schmitt"));
  ::unsetenv("LASSO_FLAG");
  CHECK(c == ErrorCode::signature_invalid);
}

TEST_CASE("encrypted assertions", "[sp][checks]") {
  auto s = spec();
  s.encrypt = true;
  SECTION("AES-256-GCM with xmlenc11 RSA-OAEP") {
    const AuthnResult r = accept(build_response(s));
    CHECK(r.was_encrypted);
    CHECK(r.attribute("urn:oid:2.5.4.4")->values == std::vector<std::string>{"Schmidt"});
  }
  SECTION("AES-128-CBC with rsa-oaep-mgf1p, refused when CBC is switched off") {
    s.encryption.data_method = std::string(alg::aes128_cbc);
    s.encryption.key_transport = std::string(alg::rsa_oaep_mgf1p);
    const std::string xml = build_response(s);
    CHECK(accept(xml).was_encrypted);
    auto idps = idp_settings();
    idps[0].policy.allow_cbc = false;
    try {
      validator(idps).validate(xml, base_check());
      FAIL("accepted");
    } catch (const Error &e) {
      CHECK(e.code() == ErrorCode::decryption_failed);
    }
  }
  SECTION("key rollover: the second key decrypts") {
    const std::string xml = build_response(s);
    const auto v = validator(idp_settings(), {rsa_key(2048, 3), sp_encryption_credential().key});
    CHECK(v.validate(xml, base_check()).was_encrypted);
  }
  SECTION("no fitting key") {
    const std::string xml = build_response(s);
    const auto v = validator(idp_settings(), {rsa_key(2048, 3)});
    try {
      v.validate(xml, base_check());
      FAIL("accepted");
    } catch (const Error &e) {
      CHECK(e.code() == ErrorCode::decryption_failed);
    }
  }
  SECTION("tampered ciphertext") {
    std::string xml = build_response(s);
    const auto pos = xml.rfind("<xenc:CipherValue>");
    REQUIRE(pos != std::string::npos);
    char &c = xml[pos + 30];
    c = c == 'A' ? 'B' : 'A';
    CHECK(code_of(xml) == ErrorCode::decryption_failed);
  }
  SECTION("an encrypted unsigned assertion is not enough") {
    s.sign_assertion = false;
    CHECK(code_of(build_response(s)) == ErrorCode::signature_missing);
  }
}

// SPDX-License-Identifier: EUPL-1.2
// The IdP side of the Servicekonto (issue 5): signature method per SP,
// pairwise-persistent NameIDs and subject-id / pairwise-id, single-use
// request IDs, Scoping and the AKDB extension, error statuses with
// akdb:StatusDetail, and lifetimes.
#include <catch2/catch.hpp>

#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <memory>
#include <string>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/session.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;

namespace {

constexpr const char *idp_id = "https://sk.example.de/idp";
constexpr const char *sso_url = "https://sk.example.de/idp/sso";
constexpr const char *sp_a = "https://portal-a.example.de";
constexpr const char *sp_b = "https://portal-b.example.de";
constexpr const char *nameid_persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

TimePoint at(const char *s) {
  const auto t = parse_datetime(s);
  REQUIRE(t.has_value());
  return *t;
}

std::string acs_of(const std::string &sp) {
  return sp + "/acs";
}

struct Side {
  PrivateKey idp_key = test::rsa_key(2048, 20);
  PrivateKey sp_sign_key = test::rsa_key(2048, 21);
  PrivateKey sp_enc_key = test::rsa_key(2048, 22);
  Certificate sp_enc_cert = *test::self_signed_cert(sp_enc_key, "portal encryption").certificate;
  std::shared_ptr<FixedClock> clock = std::make_shared<FixedClock>(at("2025-06-01T12:00:00Z"));
  std::vector<std::string> signing_methods_a; // alg:SigningMethod of SP A
  std::vector<EncryptionMethod> enc_methods_a;
  std::vector<std::pair<std::string, ResponseOptions>> per_sp;
  std::string secret = "pairwise-secret-0123456789";
  std::string scope = "sk.example.de";
  std::chrono::seconds lifetime{300};

  EntityPtr sp(const std::string &id) const {
    auto e = std::make_shared<Entity>();
    e->entity_id = id;
    SpRole role;
    role.keys.push_back(KeyDescriptor{
        KeyDescriptor::Use::signing, KeyMaterial::from_public_key(sp_sign_key.public_key()), {}});
    role.keys.push_back(KeyDescriptor{KeyDescriptor::Use::encryption,
                                      KeyMaterial::from_certificate_der(sp_enc_cert.der()),
                                      id == sp_a ? enc_methods_a : std::vector<EncryptionMethod>{}});
    role.acs.push_back(Endpoint{std::string(binding::post), acs_of(id), "", 0u, true});
    if (id == sp_a) role.signing_methods = signing_methods_a;
    e->sp = role;
    return e;
  }

  IdentityProvider idp() const {
    IdpConfig c{.entity_id = idp_id,
                .sso_url = sso_url,
                .signing = Credential{idp_key, *test::self_signed_cert(idp_key, "IdP").certificate},
                .sps = {sp(sp_a), sp(sp_b)},
                .require_signed_requests = true,
                .clock_skew = std::chrono::seconds{180},
                .assertion_lifetime = lifetime,
                .policy = AlgorithmPolicy{}};
    c.per_sp = per_sp;
    c.pairwise_secret = secret;
    c.subject_id_scope = scope;
    return IdentityProvider(std::move(c), clock);
  }
};

struct Req {
  std::string id = "_r1";
  std::string sp = sp_a;
  std::string issue_instant = "2025-06-01T12:00:00Z";
  std::string name_id_format = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
  std::string extensions;
  std::string scoping;
};

std::string authn_request(const Req &r) {
  return R"(<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" )"
         R"(xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID=")" +
         r.id + R"(" Version="2.0" IssueInstant=")" + r.issue_instant + R"(" Destination=")" + sso_url +
         R"(" AssertionConsumerServiceURL=")" + acs_of(r.sp) +
         R"(" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>)" + r.sp +
         "</saml:Issuer>" + r.extensions + R"(<samlp:NameIDPolicy Format=")" + r.name_id_format +
         R"(" AllowCreate="true"/>)" + r.scoping + "</samlp:AuthnRequest>";
}

HttpRequest redirect(const Side &s, const Req &r, const PrivateKey *key = nullptr) {
  HttpRequest h;
  h.method = "GET";
  h.path = "/idp/sso";
  h.raw_query = redirect_encode(MessageKind::request, authn_request(r), "rs", key ? key : &s.sp_sign_key,
                                alg::rsa_sha256);
  return h;
}

AuthenticatedSubject clara() {
  AuthenticatedSubject s;
  s.stable_key = "clara-4711";
  s.authn_context_class_ref = "STORK-QAA-Level-3";
  s.attributes.push_back({"urn:oid:2.5.4.42", {"CLARA"}, "givenName", ""});
  return s;
}

std::string hmac_b64url(const std::string &key, const std::string &data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char *>(data.data()), data.size(), out.data(),
               &len) != nullptr);
  return base64url_encode_nopad(std::string(reinterpret_cast<const char *>(out.data()), len));
}

// The assertion element of a plain (unencrypted) response, ID registered.
struct Parsed {
  xml::DocPtr doc;
  xmlNode *root = nullptr;
  xmlNode *assertion = nullptr;
};
Parsed parse_response(const std::string &text) {
  Parsed p;
  p.doc = xml::parse(text, default_message_limit);
  REQUIRE_NOTHROW(xml::validate_schema(p.doc.get()));
  p.root = xmlDocGetRootElement(p.doc.get());
  p.assertion = xml::first_child(p.root, xml::ns_saml, "Assertion");
  if (p.assertion != nullptr) xml::register_id(p.doc.get(), p.assertion);
  return p;
}

std::string signed_with(const Side &s, const std::string &response) {
  Parsed p = parse_response(response);
  REQUIRE(p.assertion != nullptr);
  return xmlsec::verify_enveloped(p.doc.get(), p.assertion, {s.idp_key.public_key()}, AlgorithmPolicy{})
      .signature_method;
}

std::string name_id_of(const Parsed &p) {
  return xml::text(xml::descendants(p.assertion, xml::ns_saml, "NameID").at(0));
}

std::vector<std::string> attribute_values(const Parsed &p, std::string_view name) {
  std::vector<std::string> out;
  for (xmlNode *a : xml::descendants(p.assertion, xml::ns_saml, "Attribute"))
    if (xml::attr(a, "Name") == std::optional<std::string>(name))
      for (xmlNode *v : xml::children(a, xml::ns_saml, "AttributeValue")) out.push_back(xml::text(v));
  return out;
}

} // namespace

TEST_CASE("idp side: signature method per SP", "[idp][idp-side]") {
  Side s;
  SECTION("RSA key, nothing asked: RSASSA-PSS") {
    const IdentityProvider idp = s.idp();
    const auto req = idp.receive_authn_request(redirect(s, {}));
    CHECK(idp.signature_method_for(sp_a, idp.options_for(sp_a)) == alg::rsa_pss_sha256);
    CHECK(signed_with(s, idp.build_response(req, clara())) == alg::rsa_pss_sha256);
  }
  SECTION("EC key, nothing asked: ECDSA-SHA256") {
    s.idp_key = test::ec_key("prime256v1");
    const IdentityProvider idp = s.idp();
    const auto req = idp.receive_authn_request(redirect(s, {}));
    CHECK(signed_with(s, idp.build_response(req, clara())) == alg::ecdsa_sha256);
  }
  SECTION("metadata: the first method the key can do and the policy allows") {
    s.signing_methods_a = {std::string(alg::ecdsa_sha256), std::string(alg::rsa_sha1),
                           std::string(alg::rsa_sha256), std::string(alg::rsa_pss_sha256)};
    const IdentityProvider idp = s.idp();
    const auto req = idp.receive_authn_request(redirect(s, {}));
    CHECK(signed_with(s, idp.build_response(req, clara())) == alg::rsa_sha256);
    // SP B lists nothing: PSS.
    Req rb;
    rb.sp = sp_b;
    const auto req_b = idp.receive_authn_request(redirect(s, rb));
    CHECK(signed_with(s, idp.build_response(req_b, clara())) == alg::rsa_pss_sha256);
  }
  SECTION("configuration per SP wins (a SimpleSAMLphp 1.19 peer)") {
    s.signing_methods_a = {std::string(alg::rsa_pss_sha256)};
    ResponseOptions legacy;
    legacy.signature_method = std::string(alg::rsa_sha256);
    s.per_sp = {{sp_a, legacy}};
    const IdentityProvider idp = s.idp();
    const auto req = idp.receive_authn_request(redirect(s, {}));
    CHECK(signed_with(s, idp.build_response(req, clara())) == alg::rsa_sha256);
    // The error response is signed the same way.
    Parsed e = parse_response(idp.build_error_response(req, status::responder, status::authn_failed));
    xml::register_id(e.doc.get(), e.root);
    CHECK(xmlsec::verify_enveloped(e.doc.get(), e.root, {s.idp_key.public_key()}, AlgorithmPolicy{})
              .signature_method == alg::rsa_sha256);
  }
}

TEST_CASE("idp side: encryption follows the SP's md:EncryptionMethod", "[idp][idp-side]") {
  Side s;
  s.enc_methods_a = {{std::string(alg::aes128_cbc), "", ""}, {std::string(alg::rsa_oaep_mgf1p), "", ""}};
  const IdentityProvider idp = s.idp();
  ResponseOptions o;
  o.encrypt_assertion = true;
  const auto req_a = idp.receive_authn_request(redirect(s, {}));
  const std::string a = idp.build_response(req_a, clara(), o);
  CHECK(a.find(std::string(alg::aes128_cbc)) != std::string::npos);
  CHECK(a.find(std::string(alg::rsa_oaep_mgf1p)) != std::string::npos);
  CHECK(a.find(std::string(alg::aes256_gcm)) == std::string::npos);
  Req rb;
  rb.sp = sp_b;
  const auto req_b = idp.receive_authn_request(redirect(s, rb));
  const std::string b = idp.build_response(req_b, clara(), o);
  CHECK(b.find(std::string(alg::aes256_gcm)) != std::string::npos);
  CHECK(b.find(std::string(alg::rsa_oaep)) != std::string::npos);
  CHECK(b.find("CLARA") == std::string::npos);
  // Both decrypt with the SP key.
  for (const std::string &x : {a, b}) {
    xml::DocPtr doc = xml::parse(x, default_message_limit);
    xmlNode *ed = xml::descendants(xmlDocGetRootElement(doc.get()), xml::ns_xenc, "EncryptedData").at(0);
    CHECK(xmlsec::decrypt_data(doc.get(), ed, {s.sp_enc_key}, AlgorithmPolicy{}).find("CLARA") !=
          std::string::npos);
  }
}

TEST_CASE("idp side: transient and pairwise-persistent NameIDs", "[idp][idp-side]") {
  const Side s;
  const IdentityProvider idp = s.idp();
  Req r;
  r.name_id_format = nameid_persistent;
  const Parsed p1 = parse_response(idp.build_response(idp.receive_authn_request(redirect(s, r)), clara()));
  const std::string expected = hmac_b64url(s.secret, std::string("clara-4711|") + sp_a);
  CHECK(name_id_of(p1) == expected);
  CHECK(xml::attr(xml::descendants(p1.assertion, xml::ns_saml, "NameID").at(0), "Format") ==
        std::optional<std::string>(nameid_persistent));
  // Stable for the same SP, different for another SP.
  r.id = "_r2";
  const Parsed p2 = parse_response(idp.build_response(idp.receive_authn_request(redirect(s, r)), clara()));
  CHECK(name_id_of(p2) == expected);
  r.id = "_r3";
  r.sp = sp_b;
  const Parsed p3 = parse_response(idp.build_response(idp.receive_authn_request(redirect(s, r)), clara()));
  CHECK(name_id_of(p3) == hmac_b64url(s.secret, std::string("clara-4711|") + sp_b));
  CHECK(name_id_of(p3) != expected);
  // Transient: random, different each time.
  Req t;
  t.id = "_t1";
  const auto rt = idp.receive_authn_request(redirect(s, t));
  const Parsed t1 = parse_response(idp.build_response(rt, clara()));
  const Parsed t2 = parse_response(idp.build_response(rt, clara()));
  CHECK(name_id_of(t1) != name_id_of(t2));
  CHECK(name_id_of(t1) != expected);
  // Persistent without a stable key, or an unsupported format, is refused.
  r.id = "_r4";
  const auto r4 = idp.receive_authn_request(redirect(s, r));
  AuthenticatedSubject anonymous = clara();
  anonymous.stable_key.clear();
  CHECK(code_of([&] { (void)idp.build_response(r4, anonymous); }) == ErrorCode::config_invalid);
  Req email;
  email.id = "_e1";
  email.name_id_format = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
  const auto re = idp.receive_authn_request(redirect(s, email));
  CHECK(code_of([&] { (void)idp.build_response(re, clara()); }) == ErrorCode::request_invalid);
}

TEST_CASE("idp side: subject-id and pairwise-id attributes when configured", "[idp][idp-side]") {
  Side s;
  ResponseOptions with_ids;
  with_ids.subject_id_attribute = true;
  with_ids.pairwise_id_attribute = true;
  s.per_sp = {{sp_a, with_ids}};
  const IdentityProvider idp = s.idp();
  const Parsed a = parse_response(idp.build_response(idp.receive_authn_request(redirect(s, {})), clara()));
  const auto subject_id = attribute_values(a, "urn:oasis:names:tc:SAML:attribute:subject-id");
  const auto pairwise_id = attribute_values(a, "urn:oasis:names:tc:SAML:attribute:pairwise-id");
  REQUIRE(subject_id.size() == 1);
  REQUIRE(pairwise_id.size() == 1);
  for (const std::string &v : {subject_id[0], pairwise_id[0]}) {
    CHECK(v.ends_with("@sk.example.de"));
    const std::string unique = v.substr(0, v.find('@'));
    CHECK(unique.size() == 64);
    CHECK(unique.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  CHECK(subject_id[0] != pairwise_id[0]);
  // SP B is not configured for them.
  Req rb;
  rb.sp = sp_b;
  rb.id = "_b1";
  const Parsed b = parse_response(idp.build_response(idp.receive_authn_request(redirect(s, rb)), clara()));
  CHECK(attribute_values(b, "urn:oasis:names:tc:SAML:attribute:subject-id").empty());
  CHECK(attribute_values(b, "urn:oasis:names:tc:SAML:attribute:pairwise-id").empty());
  // Same subject-id for another SP, different pairwise-id.
  rb.id = "_b2";
  const Parsed b2 =
      parse_response(idp.build_response(idp.receive_authn_request(redirect(s, rb)), clara(), with_ids));
  CHECK(attribute_values(b2, "urn:oasis:names:tc:SAML:attribute:subject-id") == subject_id);
  CHECK(attribute_values(b2, "urn:oasis:names:tc:SAML:attribute:pairwise-id") != pairwise_id);
  // A bad scope is a configuration error.
  s.scope = "_bad scope";
  CHECK(code_of([&] { (void)s.idp(); }) == ErrorCode::config_invalid);
}

TEST_CASE("idp side: request IDs are single-use", "[idp][idp-side]") {
  const Side s;
  const IdentityProvider idp = s.idp();
  // A request that fails a check does not consume its ID.
  const PrivateKey other = test::rsa_key(2048, 23);
  CHECK(code_of([&] { (void)idp.receive_authn_request(redirect(s, {}, &other)); }) ==
        ErrorCode::signature_invalid);
  CHECK(idp.receive_authn_request(redirect(s, {})).id == "_r1");
  CHECK(code_of([&] { (void)idp.receive_authn_request(redirect(s, {})); }) == ErrorCode::replayed);
  // Also by the POST binding.
  HttpRequest post;
  post.method = "POST";
  post.body = "SAMLRequest=" + url_encode(base64_encode(authn_request({}))) + "&RelayState=x";
  const IdentityProvider lax = [&] {
    IdpConfig c{.entity_id = idp_id,
                .sso_url = sso_url,
                .signing = Credential{s.idp_key, std::nullopt},
                .sps = {s.sp(sp_a)},
                .require_signed_requests = false,
                .clock_skew = std::chrono::seconds{180},
                .assertion_lifetime = std::chrono::seconds{300},
                .policy = AlgorithmPolicy{}};
    return IdentityProvider(std::move(c), s.clock);
  }();
  CHECK(lax.receive_authn_request(post).id == "_r1");
  CHECK(code_of([&] { (void)lax.receive_authn_request(post); }) == ErrorCode::replayed);
  // The same ID from another SP is another request.
  Req rb;
  rb.sp = sp_b;
  CHECK(idp.receive_authn_request(redirect(s, rb)).id == "_r1");
  CHECK(code_of([&] { (void)idp.receive_authn_request(redirect(s, rb)); }) == ErrorCode::replayed);
  // Later the request is refused as too old, not forgotten.
  s.clock->advance(std::chrono::minutes{10});
  CHECK(code_of([&] { (void)idp.receive_authn_request(redirect(s, {})); }) == ErrorCode::expired);
}

TEST_CASE("idp side: replay cache is bounded and fails closed", "[idp][idp-side]") {
  const Side s;
  IdpConfig c{.entity_id = idp_id,
              .sso_url = sso_url,
              .signing = Credential{s.idp_key, std::nullopt},
              .sps = {s.sp(sp_a)},
              .require_signed_requests = true,
              .clock_skew = std::chrono::seconds{180},
              .assertion_lifetime = std::chrono::seconds{300},
              .policy = AlgorithmPolicy{}};
  c.replay_cache_max = 2;
  const IdentityProvider idp(std::move(c), s.clock);
  Req r;
  r.id = "_c1";
  (void)idp.receive_authn_request(redirect(s, r));
  r.id = "_c2";
  (void)idp.receive_authn_request(redirect(s, r));
  r.id = "_c3";
  CHECK(code_of([&] { (void)idp.receive_authn_request(redirect(s, r)); }) == ErrorCode::internal);
  // Once the remembered ones expire, there is room again.
  s.clock->advance(std::chrono::minutes{9});
  r.issue_instant = "2025-06-01T12:09:00Z";
  CHECK(idp.receive_authn_request(redirect(s, r)).id == "_c3");
}

TEST_CASE("idp side: a shared request replay cache spans IdP instances", "[idp][idp-side]") {
  const Side s;
  const auto shared = std::make_shared<InMemoryReplayCache>();
  auto make = [&] {
    IdpConfig c{.entity_id = idp_id,
                .sso_url = sso_url,
                .signing = Credential{s.idp_key, std::nullopt},
                .sps = {s.sp(sp_a)},
                .require_signed_requests = true,
                .clock_skew = std::chrono::seconds{180},
                .assertion_lifetime = std::chrono::seconds{300},
                .policy = AlgorithmPolicy{}};
    c.request_replay_cache = shared;
    return IdentityProvider(std::move(c), s.clock);
  };
  // E.g. the IdP rebuilt after a metadata refresh: the old request stays used.
  const IdentityProvider before = make();
  const IdentityProvider after = make();
  CHECK(before.receive_authn_request(redirect(s, {})).id == "_r1");
  CHECK(code_of([&] { (void)after.receive_authn_request(redirect(s, {})); }) == ErrorCode::replayed);
  CHECK(shared->size() == 1);
}

TEST_CASE("idp side: Scoping and the AKDB extension are read", "[idp][idp-side]") {
  const Side s;
  const IdentityProvider idp = s.idp();
  Req r;
  r.extensions =
      R"(<samlp:Extensions><akdb:AuthenticationRequest xmlns:akdb="https://www.akdb.de/request/2018/09" )"
      R"(Version="2" EnableStatusDetail="true"><akdb:RequestedAttributes>)"
      R"(<akdb:RequestedAttribute Name="urn:oid:2.5.4.42" RequiredAttribute="true"/>)"
      R"(<akdb:RequestedAttribute Name="urn:oid:2.5.4.4"/>)"
      R"(</akdb:RequestedAttributes></akdb:AuthenticationRequest></samlp:Extensions>)";
  r.scoping = R"(<samlp:Scoping ProxyCount="2"><samlp:IDPList>)"
              R"(<samlp:IDPEntry ProviderID="https://nrw.example.de/idp"/>)"
              R"(<samlp:IDPEntry ProviderID="https://by.example.de/idp"/></samlp:IDPList>)"
              R"(<samlp:RequesterID>https://portal-x.example.de</samlp:RequesterID></samlp:Scoping>)";
  const ReceivedAuthnRequest q = idp.receive_authn_request(redirect(s, r));
  CHECK(q.proxy_count == std::optional<unsigned>(2));
  CHECK(q.idp_list == std::vector<std::string>{"https://nrw.example.de/idp", "https://by.example.de/idp"});
  CHECK(q.requester_ids == std::vector<std::string>{"https://portal-x.example.de"});
  CHECK(q.akdb_version == std::optional<std::string>("2"));
  CHECK(q.enable_status_detail);
  REQUIRE(q.requested_attributes.size() == 2);
  CHECK(q.requested_attributes[0].name == "urn:oid:2.5.4.42");
  CHECK(q.requested_attributes[0].is_required);
  CHECK(q.requested_attributes[1].name == "urn:oid:2.5.4.4");
  CHECK_FALSE(q.requested_attributes[1].is_required);

  Req plain;
  plain.id = "_p1";
  const ReceivedAuthnRequest q2 = idp.receive_authn_request(redirect(s, plain));
  CHECK_FALSE(q2.proxy_count.has_value());
  CHECK(q2.idp_list.empty());
  CHECK_FALSE(q2.enable_status_detail);
  CHECK(q2.requested_attributes.empty());

  Req bad;
  bad.id = "_p2";
  bad.scoping = R"(<samlp:Scoping ProxyCount="-1"/>)";
  CHECK_THROWS_AS(idp.receive_authn_request(redirect(s, bad)), Error);
}

TEST_CASE("idp side: error statuses and akdb:StatusDetail", "[idp][idp-side]") {
  const Side s;
  const IdentityProvider idp = s.idp();
  Req r;
  r.extensions =
      R"(<samlp:Extensions><akdb:AuthenticationRequest xmlns:akdb="https://www.akdb.de/request/2018/09" )"
      R"(Version="2" EnableStatusDetail="true"/></samlp:Extensions>)";
  const ReceivedAuthnRequest q = idp.receive_authn_request(redirect(s, r));
  const auto detail_of = [](const std::string &response) -> std::optional<std::string> {
    Parsed p = parse_response(response);
    xmlNode *st = xml::first_child(p.root, xml::ns_samlp, "Status");
    xmlNode *d = xml::first_child(st, xml::ns_samlp, "StatusDetail");
    if (d == nullptr) return std::nullopt;
    xmlNode *a = xml::first_child(d, xml::ns_akdb, "StatusDetail");
    REQUIRE(a != nullptr);
    return xml::text(a);
  };
  for (const std::string_view second :
       {status::authn_failed, status::request_denied, status::no_authn_context, status::no_passive}) {
    const std::string x = idp.build_error_response(q, status::responder, second);
    Parsed p = parse_response(x);
    xmlNode *top =
        xml::first_child(xml::first_child(p.root, xml::ns_samlp, "Status"), xml::ns_samlp, "StatusCode");
    CHECK(xml::attr(top, "Value") == std::optional<std::string>(status::responder));
    CHECK(xml::attr(xml::first_child(top, xml::ns_samlp, "StatusCode"), "Value") ==
          std::optional<std::string>(second));
    const std::string code(second.substr(second.rfind(':') + 1));
    CHECK(detail_of(x) ==
          std::optional<std::string>(R"({"version":"1.0","errors":[{"code":")" + code + R"("}]})"));
  }
  CHECK(detail_of(
            idp.build_error_response(q, status::requester, status::request_denied, {"attr\"missing", "b"})) ==
        std::optional<std::string>(R"({"version":"1.0","errors":[{"code":"attr\"missing"},{"code":"b"}]})"));
  // Not asked for: no StatusDetail.
  Req plain;
  plain.id = "_p1";
  const ReceivedAuthnRequest q2 = idp.receive_authn_request(redirect(s, plain));
  CHECK_FALSE(detail_of(idp.build_error_response(q2, status::responder, status::authn_failed)).has_value());
}

TEST_CASE("idp side: lifetimes come from the configuration", "[idp][idp-side]") {
  Side s;
  s.lifetime = std::chrono::seconds{60};
  const IdentityProvider idp = s.idp();
  const Parsed p = parse_response(idp.build_response(idp.receive_authn_request(redirect(s, {})), clara()));
  CHECK(xml::attr(xml::first_child(p.assertion, xml::ns_saml, "Conditions"), "NotOnOrAfter") ==
        std::optional<std::string>("2025-06-01T12:01:00Z"));
  CHECK(xml::attr(xml::descendants(p.assertion, xml::ns_saml, "SubjectConfirmationData").at(0),
                  "NotOnOrAfter") == std::optional<std::string>("2025-06-01T12:01:00Z"));
  // The default is five minutes.
  IdpConfig c{.entity_id = idp_id,
              .sso_url = sso_url,
              .signing = Credential{s.idp_key, std::nullopt},
              .sps = {s.sp(sp_a)},
              .policy = AlgorithmPolicy{}};
  CHECK(c.assertion_lifetime == std::chrono::seconds{300});
  const IdentityProvider by_default(std::move(c), s.clock);
  Req r;
  r.id = "_d1";
  const Parsed d =
      parse_response(by_default.build_response(by_default.receive_authn_request(redirect(s, r)), clara()));
  CHECK(xml::attr(xml::first_child(d.assertion, xml::ns_saml, "Conditions"), "NotOnOrAfter") ==
        std::optional<std::string>("2025-06-01T12:05:00Z"));
}

TEST_CASE("idp side: metadata lists persistent NameIDs when a pairwise secret is set", "[idp][idp-side]") {
  Side s;
  const auto formats = [](const IdentityProvider &idp) {
    const auto entities = parse_metadata(idp.metadata_xml());
    REQUIRE(entities.size() == 1);
    return entities.front()->idp->name_id_formats;
  };
  CHECK(formats(s.idp()) ==
        std::vector<std::string>{"urn:oasis:names:tc:SAML:2.0:nameid-format:transient", nameid_persistent});
  s.secret.clear();
  CHECK(formats(s.idp()) == std::vector<std::string>{"urn:oasis:names:tc:SAML:2.0:nameid-format:transient"});
}

TEST_CASE("idp side: the minimum level a request accepts follows its Comparison", "[idp][idp-side]") {
  ReceivedAuthnRequest r;
  CHECK_FALSE(requested_minimum_level(r).has_value());
  r.requested_class_refs = {"STORK-QAA-Level-4", "STORK-QAA-Level-3", "urn:other"};
  CHECK(requested_minimum_level(r) == std::optional<int>(3)); // no Comparison: exact
  r.comparison = "minimum";
  CHECK(requested_minimum_level(r) == std::optional<int>(3));
  r.comparison = "better";
  CHECK(requested_minimum_level(r) == std::optional<int>(4));
  r.comparison = "maximum";
  CHECK_FALSE(requested_minimum_level(r).has_value());
  r.comparison = "minimum";
  r.requested_class_refs = {"urn:oasis:names:tc:SAML:2.0:ac:classes:Password"};
  CHECK_FALSE(requested_minimum_level(r).has_value());
}

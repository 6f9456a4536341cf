// SPDX-License-Identifier: EUPL-1.2
// SP-initiated login, in-process: ServiceProvider <-> the minimal
// IdentityProvider, with a FixedClock. What a portal operator and a security
// reviewer rely on: the request as it leaves, the cookies, the round trip and
// every way a browser (or an attacker) can get the ACS step wrong.

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"
#include "unit/saml_browser.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;
using namespace std::chrono_literals;

namespace {

using test::form_action;
using test::form_value;
using test::query_of;

constexpr const char *kPortal = "https://portal.example";
constexpr const char *kPortalSp = "https://portal.example/saml";
constexpr const char *kPortalAcs = "https://portal.example/saml/acs";
constexpr const char *kNrwIdp = "https://idp.nrw.example/saml";
constexpr const char *kNrwSso = "https://idp.nrw.example/saml/sso";
constexpr const char *kReturnTo = "/bauvoranfrage?x=1";

const Credential &portal_signing() {
  static const Credential c = test::self_signed_cert(test::rsa_key(2048, 3), "portal.example signing");
  return c;
}

std::vector<std::string> set_cookies(const HttpResponse &r) {
  std::vector<std::string> out;
  for (const auto &[n, v] : r.headers)
    if (n == "Set-Cookie" || n == "set-cookie") out.push_back(v);
  return out;
}

// "name=value" of a Set-Cookie header.
std::string cookie_pair(const std::string &set_cookie) {
  return set_cookie.substr(0, set_cookie.find(';'));
}
std::string cookie_value(const std::string &set_cookie) {
  const std::string p = cookie_pair(set_cookie);
  return p.substr(p.find('=') + 1);
}
std::string cookie_name(const std::string &set_cookie) {
  const std::string p = cookie_pair(set_cookie);
  return p.substr(0, p.find('='));
}
// The attribute list of a Set-Cookie header split at "; ".
std::vector<std::string> cookie_attributes(const std::string &set_cookie) {
  std::vector<std::string> out;
  std::size_t pos = set_cookie.find(';');
  while (pos != std::string::npos) {
    std::size_t start = pos + 1;
    while (start < set_cookie.size() && set_cookie[start] == ' ') ++start;
    pos = set_cookie.find(';', start);
    out.push_back(set_cookie.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
  }
  return out;
}
bool has_attribute(const std::string &set_cookie, const std::string &attr) {
  for (const auto &a : cookie_attributes(set_cookie))
    if (a == attr) return true;
  return false;
}

std::optional<std::string> raw_param(const std::string &query, const std::string &name) {
  for (const auto &[n, v] : parse_query(query))
    if (n == name) return v;
  return std::nullopt;
}

AuthenticatedSubject clara(const std::string &class_ref = "STORK-QAA-Level-3") {
  AuthenticatedSubject s;
  s.name_id = "AAdzZWNyZXQxMjM0NTY3ODkw";
  s.authn_context_class_ref = class_ref;
  s.session_index = "_idp-session-1";
  s.attributes = {{"urn:oid:2.5.4.42", {"Clara"}, "givenName", ""},
                  {"urn:oid:2.5.4.4", {"Schmidt"}, "surname", ""},
                  {"urn:oid:1.2.40.0.10.2.1.1.55", {"1990-04-01"}, "birthdate", ""},
                  {"urn:oid:1.2.40.0.10.2.1.1.261.94", {class_ref}, "trustLevel", ""}};
  return s;
}

// What the browser carries away from start_login.
struct Started {
  HttpResponse response;
  std::string request_cookie; // "name=value"
  std::string relay_state;
  std::string saml_request_query; // Redirect: the raw query that reaches the IdP
};

// What the browser posts to the ACS, taken from the IdP's form page.
struct IdpPost {
  std::string action;
  std::string saml_response;
  std::string relay_state;
};

HttpRequest acs_request(const std::string &saml_response, const std::string &relay_state,
                        const std::string &cookie_header) {
  return test::post_form("/saml/acs", saml_response, relay_state, cookie_header);
}

HttpRequest with_cookie(const std::string &cookie_header) {
  HttpRequest r;
  r.path = "/bauvoranfrage";
  r.headers.emplace_back("Cookie", cookie_header);
  return r;
}

// A portal SP and the NRW IdP that know each other through their metadata.
struct Flow {
  std::shared_ptr<FixedClock> clock = std::make_shared<FixedClock>(test::base_time());
  std::shared_ptr<InMemorySessionStore> sessions = std::make_shared<InMemorySessionStore>();
  std::shared_ptr<InMemoryRequestTracker> tracker = std::make_shared<InMemoryRequestTracker>();
  std::shared_ptr<InMemoryReplayCache> replay = std::make_shared<InMemoryReplayCache>();
  EntityPtr idp_entity;
  EntityPtr sp_entity;
  std::unique_ptr<ServiceProvider> sp;
  std::unique_ptr<IdentityProvider> idp;

  static IdpConfig idp_config() { return test::idp_config(kNrwIdp, kNrwSso, test::idp_credential()); }

  static SpConfig default_config(EntityPtr idp_entity) {
    SpConfig c;
    c.entity_id = kPortalSp;
    c.base_url = kPortal;
    c.signing = portal_signing();
    c.decryption = {test::sp_encryption_credential()};
    IdpSettings s;
    s.entity = std::move(idp_entity);
    c.idps = {s};
    c.allowed_return_origins = {"https://portal.example"};
    return c;
  }

  explicit Flow(const std::function<void(SpConfig &)> &tweak = {}) {
    idp_entity = parse_metadata(IdentityProvider(idp_config(), clock).metadata_xml()).front();
    SpConfig c = default_config(idp_entity);
    if (tweak) tweak(c);
    sp = std::make_unique<ServiceProvider>(c, sessions, tracker, replay, clock);
    sp_entity = parse_metadata(sp->metadata_xml()).front();
    IdpConfig ic = idp_config();
    ic.sps = {sp_entity};
    idp = std::make_unique<IdentityProvider>(ic, clock);
  }

  Started start(LoginOptions opt = {}) const {
    if (opt.return_to.empty()) opt.return_to = kReturnTo;
    Started s;
    s.response = sp->start_login(opt);
    REQUIRE(s.response.status == 302);
    const auto cookies = set_cookies(s.response);
    REQUIRE(cookies.size() == 1);
    s.request_cookie = cookie_pair(cookies.front());
    const auto location = s.response.header("Location");
    REQUIRE(location);
    s.saml_request_query = query_of(*location);
    const auto rs = raw_param(s.saml_request_query, "RelayState");
    REQUIRE(rs);
    s.relay_state = *rs;
    return s;
  }

  ReceivedAuthnRequest idp_receive(const Started &s) const {
    HttpRequest r;
    r.method = "GET";
    r.path = "/saml/sso";
    r.raw_query = s.saml_request_query;
    return idp->receive_authn_request(r);
  }

  IdpPost idp_answer(const Started &s, const AuthenticatedSubject &subject = clara(),
                     const ResponseOptions &opt = {}) const {
    const ReceivedAuthnRequest rec = idp_receive(s);
    const HttpResponse page = idp->post_response(rec, idp->build_response(rec, subject, opt));
    REQUIRE(page.status == 200);
    IdpPost p;
    p.action = form_action(page.body).value_or("");
    p.saml_response = form_value(page.body, "SAMLResponse").value_or("");
    p.relay_state = form_value(page.body, "RelayState").value_or("");
    REQUIRE_FALSE(p.saml_response.empty());
    return p;
  }

  AcsOutcome post(const IdpPost &p, const std::string &cookie_header) const {
    return sp->handle_acs(acs_request(p.saml_response, p.relay_state, cookie_header));
  }
};

void require_rejected(const AcsOutcome &out, ErrorCode code) {
  REQUIRE(out.error.has_value());
  CHECK(to_string(out.error->code()) == to_string(code));
  CHECK(out.response.status == 403);
  CHECK_FALSE(out.session.has_value());
  CHECK_FALSE(out.response.header("Location").has_value());
  for (const auto &c : set_cookies(out.response)) CHECK(cookie_name(c) != "interkonto_session");
  CHECK(out.response.body.find(std::string(to_string(code))) != std::string::npos);
}

xmlNode *root_of(const xml::DocPtr &doc) {
  return xmlDocGetRootElement(doc.get());
}

std::string local_name(const xmlNode *n) {
  return reinterpret_cast<const char *>(n->name);
}

} // namespace

TEST_CASE("Redirect AuthnRequest: URL, RelayState, query signature, request cookie", "[sp][flow]") {
  Flow f;
  LoginOptions opt;
  opt.return_to = kReturnTo;
  const HttpResponse r = f.sp->start_login(opt);
  REQUIRE(r.status == 302);
  const auto location = r.header("Location");
  REQUIRE(location);
  CHECK(location->starts_with(std::string(kNrwSso) + "?"));
  const std::string q = query_of(*location);

  const auto saml_request = raw_param(q, "SAMLRequest");
  const auto relay_state = raw_param(q, "RelayState");
  const auto sig_alg = raw_param(q, "SigAlg");
  const auto signature = raw_param(q, "Signature");
  REQUIRE(saml_request);
  REQUIRE(relay_state);
  REQUIRE(sig_alg);
  REQUIRE(signature);
  CHECK(*sig_alg == alg::rsa_sha256);
  CHECK_FALSE(signature->empty());

  // RelayState: short and opaque (the return_to stays on the SP).
  CHECK_FALSE(relay_state->empty());
  CHECK(relay_state->size() <= 80);
  CHECK(relay_state->find("bauvoranfrage") == std::string::npos);
  CHECK(q.find("bauvoranfrage") == std::string::npos);

  // The query signature verifies against the SP's key and no other.
  const RedirectMessage msg = redirect_decode(q);
  CHECK(msg.kind == MessageKind::request);
  REQUIRE(msg.relay_state);
  CHECK(*msg.relay_state == *relay_state);
  REQUIRE_NOTHROW(redirect_verify(msg, {portal_signing().key.public_key()}, AlgorithmPolicy{}));
  CHECK(code_of([&] {
          redirect_verify(msg, {test::attacker_credential().key.public_key()}, AlgorithmPolicy{});
        }) == ErrorCode::signature_invalid);

  // The request cookie travels on the cross-site POST to the ACS only.
  const auto cookies = set_cookies(r);
  REQUIRE(cookies.size() == 1);
  const std::string &c = cookies.front();
  CHECK(cookie_name(c).starts_with("interkonto_req"));
  CHECK(cookie_value(c).size() >= 22);
  CHECK(cookie_value(c) != *relay_state);
  CHECK(has_attribute(c, "SameSite=None"));
  CHECK(has_attribute(c, "Secure"));
  CHECK(has_attribute(c, "HttpOnly"));
  CHECK(has_attribute(c, "Path=/saml/acs"));
  CHECK(r.header("Cache-Control").value_or("") == "no-store");
  CHECK(f.tracker->size() == 1);
}

TEST_CASE("Redirect AuthnRequest: schema-valid, the options as configured", "[sp][flow]") {
  SECTION("defaults: no ForceAuthn/IsPassive, transient NameIDPolicy, no RequestedAuthnContext") {
    Flow f;
    const Started s = f.start();
    const RedirectMessage msg = redirect_decode(s.saml_request_query);
    const xml::DocPtr doc = xml::parse(msg.xml, default_message_limit);
    REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
    xmlNode *root = root_of(doc);
    REQUIRE(xml::is(root, xml::ns_samlp, "AuthnRequest"));
    CHECK(xml::attr(root, "Version") == std::optional<std::string>("2.0"));
    const auto id = xml::attr(root, "ID");
    REQUIRE(id);
    CHECK(id->starts_with("_"));
    CHECK(id->size() >= 17);
    CHECK(xml::attr(root, "Destination") == std::optional<std::string>(kNrwSso));
    CHECK(xml::attr(root, "AssertionConsumerServiceURL") == std::optional<std::string>(kPortalAcs));
    CHECK(xml::attr(root, "ProtocolBinding") == std::optional<std::string>(binding::post));
    CHECK(xml::attr(root, "IssueInstant") == std::optional<std::string>("2026-05-04T10:00:00Z"));
    const bool force = xml::attr(root, "ForceAuthn").value_or("false") == "true";
    const bool passive = xml::attr(root, "IsPassive").value_or("false") == "true";
    CHECK_FALSE(force);
    CHECK_FALSE(passive);
    xmlNode *issuer = xml::first_child(root, xml::ns_saml, "Issuer");
    REQUIRE(issuer != nullptr);
    CHECK(xml::text(issuer) == kPortalSp);
    xmlNode *policy = xml::first_child(root, xml::ns_samlp, "NameIDPolicy");
    REQUIRE(policy != nullptr);
    CHECK(xml::attr(policy, "Format") == std::optional<std::string>(nameid::transient));
    CHECK(xml::attr(policy, "AllowCreate") == std::optional<std::string>("true"));
    CHECK(xml::first_child(root, xml::ns_samlp, "RequestedAuthnContext") == nullptr);
    CHECK(xml::first_child(root, xml::ns_samlp, "Extensions") == nullptr);
    // The unsigned XML: the Redirect binding signs the query instead.
    CHECK(xml::first_child(root, xml::ns_ds, "Signature") == nullptr);
  }

  SECTION("ForceAuthn, IsPassive and minimum trust level 3") {
    Flow f;
    LoginOptions opt;
    opt.force_authn = true;
    opt.is_passive = true;
    opt.min_trust_level = 3;
    const Started s = f.start(opt);
    const xml::DocPtr doc = xml::parse(redirect_decode(s.saml_request_query).xml, default_message_limit);
    REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
    xmlNode *root = root_of(doc);
    CHECK(xml::attr(root, "ForceAuthn") == std::optional<std::string>("true"));
    CHECK(xml::attr(root, "IsPassive") == std::optional<std::string>("true"));
    xmlNode *rac = xml::first_child(root, xml::ns_samlp, "RequestedAuthnContext");
    REQUIRE(rac != nullptr);
    CHECK(xml::attr(rac, "Comparison") == std::optional<std::string>("minimum"));
    const auto refs = xml::children(rac, xml::ns_saml, "AuthnContextClassRef");
    REQUIRE(refs.size() == 1);
    CHECK(xml::text(refs.front()) == "STORK-QAA-Level-3");

    // The IdP reads the same.
    const ReceivedAuthnRequest rec = f.idp_receive(s);
    CHECK(rec.force_authn);
    CHECK(rec.is_passive);
    CHECK(rec.comparison == "minimum");
    CHECK(rec.requested_class_refs == std::vector<std::string>{"STORK-QAA-Level-3"});
    CHECK(rec.relay_state == s.relay_state);
    CHECK(rec.acs_url == kPortalAcs);
    CHECK(rec.issuer == kPortalSp);
  }

  SECTION("trust level from the SP configuration") {
    Flow f([](SpConfig &c) {
      c.min_trust_level = 4;
      c.force_authn = true;
    });
    const xml::DocPtr doc =
        xml::parse(redirect_decode(f.start().saml_request_query).xml, default_message_limit);
    xmlNode *root = root_of(doc);
    CHECK(xml::attr(root, "ForceAuthn") == std::optional<std::string>("true"));
    xmlNode *rac = xml::first_child(root, xml::ns_samlp, "RequestedAuthnContext");
    REQUIRE(rac != nullptr);
    CHECK(xml::text(xml::first_child(rac, xml::ns_saml, "AuthnContextClassRef")) == "STORK-QAA-Level-4");
  }
}

TEST_CASE("Redirect AuthnRequest with the AKDB AuthenticationRequest extension", "[sp][flow][akdb]") {
  const std::string purpose = "Bauvoranfrage <b>Thüringen</b> & \"Umgebung\"";
  Flow f([&](SpConfig &c) {
    c.min_trust_level = 3;
    AkdbRequestExtension a;
    a.version = 2;
    a.authn_methods = {{"eID", std::nullopt}, {"Elster", false}, {"Benutzername", true}};
    a.requested_attributes = {
        {"urn:oid:2.5.4.42", true}, {"urn:oid:2.5.4.4", true}, {"urn:oid:1.2.40.0.10.2.1.1.55", false}};
    AkdbRequestExtension::DisplayInformation di;
    di.purpose = purpose;
    di.organization_display_name = "Freistaat Thüringen";
    di.lang = "de";
    di.back_url = "https://portal.example/abbruch";
    di.online_service_id = "bauvoranfrage-th";
    a.display_information = di;
    c.akdb_extension = a;
  });
  const Started s = f.start();
  const xml::DocPtr doc = xml::parse(redirect_decode(s.saml_request_query).xml, default_message_limit);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  xmlNode *root = root_of(doc);

  // Element order the schema (and picky IdPs) insist on.
  std::vector<std::string> order;
  for (xmlNode *n : xml::element_children(root)) order.push_back(local_name(n));
  CHECK(order == std::vector<std::string>{"Issuer", "Extensions", "NameIDPolicy", "RequestedAuthnContext"});

  xmlNode *ext = xml::first_child(root, xml::ns_samlp, "Extensions");
  REQUIRE(ext != nullptr);
  const auto ars = xml::children(ext, xml::ns_akdb, "AuthenticationRequest");
  REQUIRE(ars.size() == 1);
  xmlNode *ar = ars.front();
  CHECK(xml::attr(ar, "Version") == std::optional<std::string>("2"));

  // AuthnMethods: one element per method, akdb:Enabled only where configured.
  xmlNode *methods = xml::first_child(ar, xml::ns_akdb, "AuthnMethods");
  REQUIRE(methods != nullptr);
  const auto ms = xml::element_children(methods);
  REQUIRE(ms.size() == 3);
  CHECK(xml::is(ms[0], xml::ns_akdb, "eID"));
  CHECK(xml::first_child(ms[0], xml::ns_akdb, "Enabled") == nullptr);
  CHECK(xml::is(ms[1], xml::ns_akdb, "Elster"));
  REQUIRE(xml::first_child(ms[1], xml::ns_akdb, "Enabled") != nullptr);
  CHECK(xml::text(xml::first_child(ms[1], xml::ns_akdb, "Enabled")) == "false");
  CHECK(xml::is(ms[2], xml::ns_akdb, "Benutzername"));
  REQUIRE(xml::first_child(ms[2], xml::ns_akdb, "Enabled") != nullptr);
  CHECK(xml::text(xml::first_child(ms[2], xml::ns_akdb, "Enabled")) == "true");

  // RequestedAttributes: Name and RequiredAttribute.
  xmlNode *ras = xml::first_child(ar, xml::ns_akdb, "RequestedAttributes");
  REQUIRE(ras != nullptr);
  const auto ra = xml::children(ras, xml::ns_akdb, "RequestedAttribute");
  REQUIRE(ra.size() == 3);
  CHECK(xml::attr(ra[0], "Name") == std::optional<std::string>("urn:oid:2.5.4.42"));
  CHECK(xml::attr(ra[0], "RequiredAttribute") == std::optional<std::string>("true"));
  CHECK(xml::attr(ra[1], "Name") == std::optional<std::string>("urn:oid:2.5.4.4"));
  CHECK(xml::attr(ra[1], "RequiredAttribute") == std::optional<std::string>("true"));
  CHECK(xml::attr(ra[2], "Name") == std::optional<std::string>("urn:oid:1.2.40.0.10.2.1.1.55"));
  CHECK(xml::attr(ra[2], "RequiredAttribute").value_or("false") == "false");

  // DisplayInformation/classic-ui:Version with its children, text escaped.
  xmlNode *di = xml::first_child(ar, xml::ns_akdb, "DisplayInformation");
  REQUIRE(di != nullptr);
  xmlNode *version = xml::first_child(di, xml::ns_akdb_classic_ui, "Version");
  REQUIRE(version != nullptr);
  auto child_text = [&](const char *name) -> std::string {
    xmlNode *n = xml::first_child(version, xml::ns_akdb_classic_ui, name);
    return n == nullptr ? std::string("(missing)") : xml::text(n);
  };
  CHECK(child_text("Purpose") == purpose);
  CHECK(child_text("OrganizationDisplayName") == "Freistaat Thüringen");
  CHECK(child_text("Lang") == "de");
  CHECK(child_text("BackURL") == "https://portal.example/abbruch");
  const std::string osid = xml::first_child(version, xml::ns_akdb_classic_ui, "OnlineServiceId") != nullptr
                               ? child_text("OnlineServiceId")
                               : child_text("OnlineServiceID");
  CHECK(osid == "bauvoranfrage-th");

  xmlNode *rac = xml::first_child(root, xml::ns_samlp, "RequestedAuthnContext");
  REQUIRE(rac != nullptr);
  CHECK(xml::attr(rac, "Comparison") == std::optional<std::string>("minimum"));
  CHECK(xml::text(xml::first_child(rac, xml::ns_saml, "AuthnContextClassRef")) == "STORK-QAA-Level-3");

  // The IdP accepts the request with the extension (signature over the query).
  CHECK_NOTHROW(f.idp_receive(s));
}

TEST_CASE("POST AuthnRequest: form page, CSP, enveloped signature by the SP key", "[sp][flow]") {
  Flow f([](SpConfig &c) { c.idps.front().authn_request_binding = std::string(binding::post); });
  LoginOptions opt;
  opt.return_to = kReturnTo;
  opt.min_trust_level = 3;
  const HttpResponse r = f.sp->start_login(opt);
  REQUIRE(r.status == 200);
  CHECK_FALSE(r.header("Location").has_value());
  CHECK(r.header("Content-Type").value_or("").starts_with("text/html"));
  const auto csp = r.header("Content-Security-Policy");
  REQUIRE(csp);
  CHECK(*csp == post_form_csp(kNrwSso));
  CHECK(csp->find("form-action https://idp.nrw.example") != std::string::npos);

  CHECK(form_action(r.body) == std::optional<std::string>(kNrwSso));
  const auto value = form_value(r.body, "SAMLRequest");
  const auto relay_state = form_value(r.body, "RelayState");
  REQUIRE(value);
  REQUIRE(relay_state);
  CHECK(relay_state->size() <= 80);
  CHECK(relay_state->find("bauvoranfrage") == std::string::npos);
  CHECK(r.body.find("bauvoranfrage") == std::string::npos);

  const auto cookies = set_cookies(r);
  REQUIRE(cookies.size() == 1);
  CHECK(has_attribute(cookies.front(), "SameSite=None"));
  CHECK(has_attribute(cookies.front(), "Secure"));
  CHECK(has_attribute(cookies.front(), "HttpOnly"));

  const std::string xml_text = post_decode(*value);
  const xml::DocPtr doc = xml::parse(xml_text, default_message_limit);
  REQUIRE_NOTHROW(xml::validate_schema(doc.get()));
  xmlNode *root = root_of(doc);
  REQUIRE(xml::is(root, xml::ns_samlp, "AuthnRequest"));
  // Signature right after Issuer (schema order), before NameIDPolicy.
  std::vector<std::string> order;
  for (xmlNode *n : xml::element_children(root)) order.push_back(local_name(n));
  CHECK(order == std::vector<std::string>{"Issuer", "Signature", "NameIDPolicy", "RequestedAuthnContext"});

  const std::string id = xml::register_id(doc.get(), root);
  CHECK(id.starts_with("_"));
  const auto verified =
      xmlsec::verify_enveloped(doc.get(), root, {portal_signing().key.public_key()}, AlgorithmPolicy{});
  CHECK(verified.signature_method == alg::rsa_sha256);
  CHECK(verified.digest_method == alg::sha256);
  {
    const xml::DocPtr again = xml::parse(xml_text, default_message_limit);
    xml::register_id(again.get(), root_of(again));
    const ErrorCode c = code_of([&] {
      xmlsec::verify_enveloped(again.get(), root_of(again), {test::attacker_credential().key.public_key()},
                               AlgorithmPolicy{});
    });
    CHECK((c == ErrorCode::signature_invalid || c == ErrorCode::untrusted_key));
  }

  // The IdP takes it by the POST binding and checks the signature too.
  HttpRequest to_idp;
  to_idp.method = "POST";
  to_idp.path = "/saml/sso";
  to_idp.body = "SAMLRequest=" + url_encode(*value) + "&RelayState=" + url_encode(*relay_state);
  const ReceivedAuthnRequest rec = f.idp->receive_authn_request(to_idp);
  CHECK(rec.binding == binding::post);
  CHECK(rec.id == id);
  CHECK(rec.relay_state == *relay_state);
  CHECK(rec.requested_class_refs == std::vector<std::string>{"STORK-QAA-Level-3"});

  // ... and a tampered request no longer verifies.
  const std::string tampered = test::replace_once(xml_text, "STORK-QAA-Level-3", "STORK-QAA-Level-1");
  to_idp.body =
      "SAMLRequest=" + url_encode(base64_encode(tampered)) + "&RelayState=" + url_encode(*relay_state);
  CHECK(code_of([&] { f.idp->receive_authn_request(to_idp); }) == ErrorCode::signature_invalid);
}

TEST_CASE("Full round trip: signed assertion, then signed and encrypted", "[sp][flow]") {
  Flow f;
  const bool encrypted = GENERATE(false, true);
  INFO("encrypted: " << encrypted);
  ResponseOptions ro;
  ro.encrypt_assertion = encrypted;
  ro.data_encryption = std::string(alg::aes256_gcm);
  ro.key_transport = std::string(alg::rsa_oaep);

  const Started s = f.start();
  const IdpPost p = f.idp_answer(s, clara(), ro);
  CHECK(p.action == kPortalAcs);
  CHECK(p.relay_state == s.relay_state);
  const std::string response_xml = post_decode(p.saml_response);
  if (encrypted) {
    CHECK(response_xml.find("EncryptedAssertion") != std::string::npos);
    CHECK(response_xml.find(std::string(alg::aes256_gcm)) != std::string::npos);
    CHECK(response_xml.find(std::string(alg::rsa_oaep)) != std::string::npos);
    CHECK(response_xml.find("Clara") == std::string::npos);
    CHECK(response_xml.find("Schmidt") == std::string::npos);
  } else {
    CHECK(response_xml.find("EncryptedAssertion") == std::string::npos);
    CHECK(response_xml.find("Clara") != std::string::npos);
  }

  // The browser also carries an old (attacker-planted) session cookie.
  const std::string planted = "interkonto_session=planted-by-attacker-0000";
  const AcsOutcome out = f.post(p, planted + "; " + s.request_cookie);
  INFO((out.error ? std::string(out.error->what()) : std::string("no error")));
  REQUIRE_FALSE(out.error.has_value());
  CHECK(out.response.status == 303);
  CHECK(out.response.header("Location") == std::optional<std::string_view>(kReturnTo));
  CHECK(out.response.header("Cache-Control").value_or("") == "no-store");
  REQUIRE(out.result.has_value());
  CHECK(out.result->was_encrypted == encrypted);
  CHECK(out.result->issuer == kNrwIdp);
  CHECK(out.result->name_id == "AAdzZWNyZXQxMjM0NTY3ODkw");
  CHECK(out.result->authn_context_class_ref == std::optional<std::string>("STORK-QAA-Level-3"));

  std::optional<std::string> session_cookie;
  bool request_cookie_cleared = false;
  for (const auto &c : set_cookies(out.response)) {
    if (cookie_name(c) == "interkonto_session") {
      session_cookie = c;
    } else if (cookie_name(c) == cookie_name(s.request_cookie)) {
      request_cookie_cleared = cookie_value(c).empty() && has_attribute(c, "Max-Age=0");
    }
  }
  REQUIRE(session_cookie);
  CHECK(has_attribute(*session_cookie, "SameSite=Lax"));
  CHECK(has_attribute(*session_cookie, "Secure"));
  CHECK(has_attribute(*session_cookie, "HttpOnly"));
  CHECK(has_attribute(*session_cookie, "Path=/"));
  CHECK(request_cookie_cleared);
  const std::string sid = cookie_value(*session_cookie);
  CHECK(sid.size() >= 22);
  CHECK(sid != "planted-by-attacker-0000");
  CHECK(sid != cookie_value(s.request_cookie));
  CHECK(sid != s.relay_state);
  REQUIRE(out.session.has_value());
  CHECK(out.session->id == sid);

  // The portal finds the session by the new cookie, not by the planted one.
  CHECK_FALSE(f.sp->current_session(with_cookie(planted)).has_value());
  const auto session = f.sp->current_session(with_cookie("interkonto_session=" + sid));
  REQUIRE(session.has_value());
  CHECK(session->id == sid);
  CHECK(session->idp_entity_id == kNrwIdp);
  CHECK(session->name_id == "AAdzZWNyZXQxMjM0NTY3ODkw");
  CHECK(session->name_id_format == nameid::transient);
  CHECK(session->session_index == "_idp-session-1");
  CHECK(session->authn_context_class_ref == "STORK-QAA-Level-3");
  CHECK(session->created == test::base_time());
  CHECK(session->expires == test::base_time() + 8h);
  auto attr = [&](const std::string &name) -> std::vector<std::string> {
    for (const auto &[n, v] : session->attributes)
      if (n == name) return v;
    return {};
  };
  CHECK(attr("urn:oid:2.5.4.42") == std::vector<std::string>{"Clara"});
  CHECK(attr("urn:oid:2.5.4.4") == std::vector<std::string>{"Schmidt"});
  CHECK(attr("urn:oid:1.2.40.0.10.2.1.1.55") == std::vector<std::string>{"1990-04-01"});
  CHECK(f.sessions->size() == 1);
  CHECK(f.tracker->size() == 0);
  CHECK(f.replay->size() == 1);

  SECTION("the same POST again (browser Back): a clear error page, no second session") {
    const AcsOutcome again = f.post(p, planted + "; " + s.request_cookie);
    REQUIRE(again.error.has_value());
    const ErrorCode code = again.error->code();
    CHECK((code == ErrorCode::replayed || code == ErrorCode::in_response_to_mismatch));
    require_rejected(again, code);
    const std::string &body = again.response.body;
    CHECK(body.starts_with("<!DOCTYPE html>"));
    CHECK(again.response.header("Content-Type").value_or("").starts_with("text/html"));
    CHECK(body.find(std::string(again.error->citizen_message()).substr(0, 20)) != std::string::npos);
    // No stack trace, no internals, no echo of the message or its IDs.
    CHECK(body.find(again.error->detail()) == std::string::npos);
    CHECK(body.find(".cpp") == std::string::npos);
    CHECK(body.find("std::") == std::string::npos);
    CHECK(body.find("interkonto::") == std::string::npos);
    CHECK(body.find("terminate") == std::string::npos);
    CHECK(body.find(out.result->assertion_id) == std::string::npos);
    CHECK(body.find("Clara") == std::string::npos);
    CHECK(f.sessions->size() == 1);
    // The first session is still there.
    CHECK(f.sp->current_session(with_cookie("interkonto_session=" + sid)).has_value());
  }
}

TEST_CASE("ACS rejects a response that does not belong to this browser's login", "[sp][flow]") {
  Flow f;
  const Started s = f.start();
  const IdpPost p = f.idp_answer(s);

  SECTION("no request cookie") {
    require_rejected(f.post(p, ""), ErrorCode::in_response_to_mismatch);
  }
  SECTION("the request cookie with a wrong value") {
    require_rejected(f.post(p, cookie_name(s.request_cookie) + "=AAAAAAAAAAAAAAAAAAAAAA"),
                     ErrorCode::in_response_to_mismatch);
  }
  SECTION("only another cookie") {
    require_rejected(f.post(p, "interkonto_session=whatever"), ErrorCode::in_response_to_mismatch);
  }
  SECTION("changed RelayState") {
    IdpPost changed = p;
    changed.relay_state =
        (p.relay_state[0] == 'x' ? "y" : "x") + p.relay_state.substr(1); // random: never equal
    REQUIRE(changed.relay_state != p.relay_state);
    require_rejected(f.post(changed, s.request_cookie), ErrorCode::in_response_to_mismatch);
  }
  SECTION("RelayState missing") {
    IdpPost changed = p;
    changed.relay_state.clear();
    require_rejected(f.post(changed, s.request_cookie), ErrorCode::in_response_to_mismatch);
  }
  SECTION("a response to another browser's request") {
    const Started other = f.start();
    const IdpPost other_response = f.idp_answer(other);
    // Browser A posts B's response (with B's RelayState, but A's cookie).
    require_rejected(f.post(other_response, s.request_cookie), ErrorCode::in_response_to_mismatch);
    // ... or with A's own RelayState.
    const Started third = f.start();
    IdpPost mixed = f.idp_answer(third);
    mixed.relay_state = s.relay_state;
    require_rejected(f.post(mixed, s.request_cookie), ErrorCode::in_response_to_mismatch);
    // A's own response still works for A.
    const AcsOutcome own = f.post(p, s.request_cookie);
    CHECK_FALSE(own.error.has_value());
    CHECK(own.session.has_value());
    f.sessions->remove(own.session ? own.session->id : std::string());
  }
  CHECK(f.sessions->size() == 0);
}

TEST_CASE("ACS accepts only what a browser posts", "[sp][flow]") {
  Flow f;
  SECTION("GET is refused") {
    HttpRequest r;
    r.method = "GET";
    r.path = "/saml/acs";
    const AcsOutcome out = f.sp->handle_acs(r);
    REQUIRE(out.error);
    CHECK(out.error->code() == ErrorCode::request_invalid);
    CHECK(out.response.status == 400);
  }
  SECTION("POST without SAMLResponse") {
    HttpRequest r;
    r.method = "POST";
    r.path = "/saml/acs";
    r.body = "RelayState=abc";
    const AcsOutcome out = f.sp->handle_acs(r);
    REQUIRE(out.error);
    CHECK(out.error->code() == ErrorCode::request_invalid);
    CHECK(out.response.status == 400);
    CHECK_FALSE(out.session);
  }
  SECTION("RelayState over 80 bytes") {
    const Started s = f.start();
    IdpPost p = f.idp_answer(s);
    p.relay_state = std::string(81, 'a');
    const AcsOutcome out = f.post(p, s.request_cookie);
    REQUIRE(out.error);
    CHECK(out.error->code() == ErrorCode::request_invalid);
    CHECK_FALSE(out.session);
  }
  SECTION("an unsolicited response is refused by default") {
    test::ResponseSpec spec;
    spec.issuer = kNrwIdp;
    spec.response_issuer = std::string(kNrwIdp);
    spec.destination = std::string(kPortalAcs);
    spec.recipient = std::string(kPortalAcs);
    spec.audiences = {kPortalSp};
    spec.in_response_to.reset();
    spec.sc_in_response_to.reset();
    const std::string xml = test::build_response(spec);
    const AcsOutcome out = f.sp->handle_acs(acs_request(base64_encode(xml), "", ""));
    REQUIRE(out.error);
    CHECK(out.error->code() == ErrorCode::unsolicited);
    CHECK(out.response.status == 403);
    CHECK_FALSE(out.session);
  }
}

TEST_CASE("development_insecure_http drops Secure; https is required otherwise", "[sp][flow]") {
  SECTION("http base URL with the development switch: a full login without Secure cookies") {
    Flow f([](SpConfig &c) {
      c.base_url = "http://localhost:8080";
      c.development_insecure_http = true;
    });
    LoginOptions opt;
    opt.return_to = kReturnTo;
    const HttpResponse r = f.sp->start_login(opt);
    REQUIRE(r.status == 302);
    const auto cookies = set_cookies(r);
    REQUIRE(cookies.size() == 1);
    CHECK_FALSE(has_attribute(cookies.front(), "Secure"));
    CHECK(has_attribute(cookies.front(), "HttpOnly"));
    // SameSite=None without Secure is dropped by browsers.
    CHECK_FALSE(has_attribute(cookies.front(), "SameSite=None"));

    const Started s = f.start();
    const IdpPost p = f.idp_answer(s);
    CHECK(p.action == "http://localhost:8080/saml/acs");
    const AcsOutcome out = f.post(p, s.request_cookie);
    INFO((out.error ? std::string(out.error->what()) : std::string("no error")));
    REQUIRE_FALSE(out.error);
    CHECK(out.response.status == 303);
    bool saw_session = false;
    for (const auto &c : set_cookies(out.response)) {
      CHECK_FALSE(has_attribute(c, "Secure"));
      if (cookie_name(c) == "interkonto_session") {
        saw_session = true;
        CHECK(has_attribute(c, "HttpOnly"));
        CHECK(has_attribute(c, "SameSite=Lax"));
      }
    }
    CHECK(saw_session);
  }
  SECTION("http base URL without the switch: the constructor refuses") {
    const EntityPtr idp = parse_metadata(IdentityProvider(Flow::idp_config()).metadata_xml()).front();
    SpConfig c = Flow::default_config(idp);
    c.base_url = "http://portal.example";
    CHECK(code_of([&] {
            ServiceProvider sp(c, nullptr, nullptr, std::make_shared<InMemoryReplayCache>());
          }) == ErrorCode::config_invalid);
    c.base_url = "https://portal.example";
    CHECK_NOTHROW(ServiceProvider(c, nullptr, nullptr, std::make_shared<InMemoryReplayCache>()));
  }
  SECTION("signed requests without a signing key: the constructor refuses") {
    const EntityPtr idp = parse_metadata(IdentityProvider(Flow::idp_config()).metadata_xml()).front();
    SpConfig c = Flow::default_config(idp);
    c.signing.reset();
    CHECK(code_of([&] {
            ServiceProvider sp(c, nullptr, nullptr, std::make_shared<InMemoryReplayCache>());
          }) == ErrorCode::config_invalid);
  }
}

TEST_CASE("return_to: local paths and allow-listed origins only", "[sp][flow][return_to]") {
  Flow f;
  const ServiceProvider &sp = *f.sp;
  SECTION("accepted") {
    CHECK(sp.return_to_allowed("/"));
    CHECK(sp.return_to_allowed("/bauvoranfrage?x=1"));
    CHECK(sp.return_to_allowed("/a/b#frag"));
    CHECK(sp.return_to_allowed("https://portal.example"));
    CHECK(sp.return_to_allowed("https://portal.example/x"));
    CHECK(sp.return_to_allowed("https://portal.example/x?y=1"));
  }
  SECTION("rejected") {
    for (const std::string &bad : {
             std::string(""),
             std::string("//evil.example"),
             std::string("//evil.example/path"),
             std::string("/\\evil.example"),
             std::string("\\\\evil.example"),
             std::string("https://evil.example"),
             std::string("https://evil.example/portal.example"),
             std::string("https://portal.example.evil.com"),
             std::string("https://portal.example.evil.com/x"),
             std::string("https://portal.example@evil.com"),
             std::string("https://portal.example:443@evil.com/"),
             std::string("https://portal.example:8443/x"),
             std::string("http://portal.example/x"),
             std::string("javascript:alert(1)"),
             std::string("JavaScript:alert(1)"),
             std::string("data:text/html,<script>alert(1)</script>"),
             std::string("bauvoranfrage"),
             std::string("/with space"),
             std::string(" /leading-space"),
             std::string("/tab\there"),
             std::string("/cr\r\nLocation: https://evil.example"),
             std::string("/nul\0x", 6),
             std::string("/del\x7f"),
         }) {
      INFO("return_to: " << bad);
      CHECK_FALSE(sp.return_to_allowed(bad));
    }
  }
  SECTION("start_login with a disallowed return_to: 400 page, no redirect, no cookie, nothing tracked") {
    for (const char *bad : {"//evil.example", "https://evil.example/", "javascript:alert(1)"}) {
      LoginOptions opt;
      opt.return_to = bad;
      const HttpResponse r = sp.start_login(opt);
      CHECK(r.status == 400);
      CHECK_FALSE(r.header("Location").has_value());
      CHECK(set_cookies(r).empty());
      CHECK(r.body.find("evil") == std::string::npos);
      CHECK(r.body.find("request_invalid") != std::string::npos);
    }
    CHECK(f.tracker->size() == 0);
  }
  SECTION("handle_login takes return_to from the query") {
    HttpRequest bad;
    bad.path = "/saml/login";
    bad.raw_query = "return_to=" + url_encode("//evil.example");
    CHECK(sp.handle_login(bad).status == 400);
    HttpRequest good;
    good.path = "/saml/login";
    good.raw_query = "return_to=" + url_encode(kReturnTo);
    const HttpResponse r = sp.handle_login(good);
    CHECK(r.status == 302);
    CHECK(r.header("Location").value_or("").starts_with(std::string(kNrwSso) + "?"));
    CHECK(f.tracker->size() == 1);
  }
  SECTION("an allow-listed absolute return_to is where the browser lands") {
    LoginOptions opt;
    opt.return_to = "https://portal.example/x";
    const Started s = f.start(opt);
    const AcsOutcome out = f.post(f.idp_answer(s), s.request_cookie);
    REQUIRE_FALSE(out.error);
    CHECK(out.response.header("Location") == std::optional<std::string_view>("https://portal.example/x"));
  }
}

TEST_CASE("Trust level: a weaker login than requested is refused", "[sp][flow]") {
  SECTION("requested minimum 3 at login, IdP answers STORK-QAA-Level-2") {
    Flow f;
    LoginOptions opt;
    opt.min_trust_level = 3;
    const Started s = f.start(opt);
    const AcsOutcome out = f.post(f.idp_answer(s, clara("STORK-QAA-Level-2")), s.request_cookie);
    require_rejected(out, ErrorCode::authn_context_insufficient);
    CHECK(f.sessions->size() == 0);
  }
  SECTION("configured minimum 3, IdP answers STORK-QAA-Level-2") {
    Flow f([](SpConfig &c) { c.min_trust_level = 3; });
    const Started s = f.start();
    const AcsOutcome out = f.post(f.idp_answer(s, clara("STORK-QAA-Level-2")), s.request_cookie);
    require_rejected(out, ErrorCode::authn_context_insufficient);
  }
  SECTION("requested minimum 3, IdP answers STORK-QAA-Level-4: accepted") {
    Flow f;
    LoginOptions opt;
    opt.min_trust_level = 3;
    const Started s = f.start(opt);
    const AcsOutcome out = f.post(f.idp_answer(s, clara("STORK-QAA-Level-4")), s.request_cookie);
    REQUIRE_FALSE(out.error);
    REQUIRE(out.session);
    CHECK(out.session->authn_context_class_ref == "STORK-QAA-Level-4");
  }
}

TEST_CASE("Sessions end after the idle and the absolute timeout", "[sp][flow][session]") {
  Flow f([](SpConfig &c) {
    c.session_idle_timeout = 30min;
    c.session_absolute_timeout = 1h;
  });
  const Started s = f.start();
  const AcsOutcome out = f.post(f.idp_answer(s), s.request_cookie);
  REQUIRE_FALSE(out.error);
  REQUIRE(out.session);
  const HttpRequest browser = with_cookie("interkonto_session=" + out.session->id);
  REQUIRE(f.sp->current_session(browser).has_value());

  SECTION("idle timeout") {
    f.clock->advance(29min);
    CHECK(f.sp->current_session(browser).has_value());
    f.clock->advance(30min + 1s); // idle for longer than 30 minutes, 59 minutes in total
    CHECK_FALSE(f.sp->current_session(browser).has_value());
    f.clock->set(test::base_time() + 1min); // a clock going back does not revive it
    CHECK_FALSE(f.sp->current_session(browser).has_value());
  }
  SECTION("each visit refreshes the idle timeout, the absolute one still ends it") {
    f.clock->advance(25min);
    const auto first = f.sp->current_session(browser);
    REQUIRE(first.has_value());
    CHECK(first->last_seen == test::base_time() + 25min);
    f.clock->advance(25min); // 50 minutes after login, 25 idle
    CHECK(f.sp->current_session(browser).has_value());
    f.clock->advance(9min); // 59 minutes
    CHECK(f.sp->current_session(browser).has_value());
    f.clock->advance(1min); // 60 minutes: absolute timeout reached
    CHECK_FALSE(f.sp->current_session(browser).has_value());
    CHECK(f.sessions->size() == 0);
  }
}

TEST_CASE("A login request expires after request_lifetime", "[sp][flow]") {
  Flow f([](SpConfig &c) { c.request_lifetime = std::chrono::seconds(120); });
  const Started s = f.start();
  const IdpPost p = f.idp_answer(s); // assertion valid for 5 minutes
  f.clock->advance(121s);
  const AcsOutcome out = f.post(p, s.request_cookie);
  REQUIRE(out.error);
  CHECK(out.error->code() == ErrorCode::in_response_to_mismatch);
  CHECK_FALSE(out.session);
}

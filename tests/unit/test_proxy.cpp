// SPDX-License-Identifier: EUPL-1.2
// The IdP/SP proxy in-process: portal -> Servicekonto Thüringen (proxy) ->
// Servicekonto.NRW (upstream IdP) -> proxy -> portal.

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/proxy.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"
#include "unit/saml_browser.hpp"
#include "unit/proxy_world.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"

using namespace interkonto;

namespace {

using test::cookie_header;
using test::form_action;
using test::form_value;
using test::get_request;
using test::idp_config;
using test::post_form;
using test::query_of;
using namespace test::proxy_world;

AuthenticatedSubject clara(const std::string &class_ref = "STORK-QAA-Level-3") {
  AuthenticatedSubject s;
  s.name_id = "AAdzZWNyZXQxMjM0NTY3ODkw";
  s.authn_context_class_ref = class_ref;
  s.session_index = "_nrw-session-1";
  s.attributes = {{"urn:oid:2.5.4.42", {"Clara"}, "givenName", ""},
                  {"urn:oid:2.5.4.4", {"Schmidt"}, "surname", ""},
                  {"urn:oid:1.2.40.0.10.2.1.1.55", {"1990-04-01"}, "birthdate", ""},
                  {"urn:oid:1.2.40.0.10.2.1.1.261.94", {class_ref}, "trustLevel", ""}};
  return s;
}

struct World {
  std::shared_ptr<FixedClock> clock = std::make_shared<FixedClock>(test::base_time());
  std::unique_ptr<Proxy> proxy;
  std::unique_ptr<IdentityProvider> nrw;
  std::unique_ptr<ServiceProvider> portal;
  std::shared_ptr<InMemoryPendingStore> pending = std::make_shared<InMemoryPendingStore>();
  std::shared_ptr<InMemorySessionStore> portal_sessions = std::make_shared<InMemorySessionStore>();

  explicit World(std::optional<int> portal_min_level = std::nullopt) {
    const Credential &nrw_cred = test::cached_credential(40, "idp.nrw.example");
    const Credential &proxy_idp_cred = test::cached_credential(41, "sk.thueringen.example idp");
    const Credential &proxy_sp_cred = test::cached_credential(42, "sk.thueringen.example sp");
    const Credential &portal_cred = test::cached_credential(43, "portal.thueringen.example");

    const EntityPtr nrw_entity = idp_entity(idp_config(kNrw, kNrwSso, nrw_cred), clock);
    const EntityPtr proxy_idp_entity = idp_entity(idp_config(kProxyIdp, kProxySso, proxy_idp_cred), clock);

    SpConfig pc = portal_config(portal_cred, proxy_idp_entity);
    pc.min_trust_level = portal_min_level;
    portal =
        std::make_unique<ServiceProvider>(pc, portal_sessions, std::make_shared<InMemoryRequestTracker>(),
                                          std::make_shared<InMemoryReplayCache>(), clock);

    ProxyConfig c = proxy_config(idp_config(kProxyIdp, kProxySso, proxy_idp_cred),
                                 parse_metadata(portal->metadata_xml()).front(), proxy_sp_cred, nrw_entity,
                                 AttributeMap::from_yaml(kAttributeMap));
    proxy = std::make_unique<Proxy>(c, pending, std::make_shared<InMemorySessionStore>(),
                                    std::make_shared<InMemoryRequestTracker>(),
                                    std::make_shared<InMemoryReplayCache>(), clock);

    IdpConfig nc = idp_config(kNrw, kNrwSso, nrw_cred);
    nc.sps = {parse_metadata(proxy->sp().metadata_xml()).front()};
    nrw = std::make_unique<IdentityProvider>(nc, clock);
  }
};

struct Run {
  std::string portal_cookies;
  std::string proxy_cookies;
  std::string upstream_response; // base64 SAMLResponse from NRW
  std::string upstream_relay_state;
  HttpResponse proxy_answer; // what the proxy sends back to the browser after its ACS
};

// portal start_login -> proxy SSO -> NRW -> proxy ACS.
Run run_to_proxy_acs(World &w, const AuthenticatedSubject &subject) {
  Run run;
  LoginOptions opt;
  opt.return_to = "/bauvoranfrage";
  const HttpResponse start = w.portal->start_login(opt);
  REQUIRE(start.status == 302);
  const auto to_proxy = start.header("Location");
  REQUIRE(to_proxy);
  REQUIRE(to_proxy->starts_with(std::string(kProxySso) + "?"));
  run.portal_cookies = cookie_header(start);

  const HttpResponse upstream = w.proxy->handle(get_request("/proxy/sso", query_of(*to_proxy)));
  REQUIRE(upstream.status == 302);
  const auto to_nrw = upstream.header("Location");
  REQUIRE(to_nrw);
  REQUIRE(to_nrw->starts_with(std::string(kNrwSso) + "?"));
  run.proxy_cookies = cookie_header(upstream);
  REQUIRE_FALSE(run.proxy_cookies.empty());
  CHECK(w.pending->size() == 1);

  const ReceivedAuthnRequest rec = w.nrw->receive_authn_request(get_request("/saml/sso", query_of(*to_nrw)));
  CHECK(rec.issuer == kProxySp);
  const HttpResponse page = w.nrw->post_response(rec, w.nrw->build_response(rec, subject));
  REQUIRE(page.status == 200);
  CHECK(form_action(page.body) == std::optional<std::string>(std::string(kProxyBase) + "/proxy/acs"));
  run.upstream_response = form_value(page.body, "SAMLResponse").value_or("");
  run.upstream_relay_state = form_value(page.body, "RelayState").value_or("");
  REQUIRE_FALSE(run.upstream_response.empty());

  run.proxy_answer = w.proxy->handle(
      post_form("/proxy/acs", run.upstream_response, run.upstream_relay_state, run.proxy_cookies));
  return run;
}

AcsOutcome portal_acs(World &w, const Run &run) {
  REQUIRE(run.proxy_answer.status == 200);
  CHECK(form_action(run.proxy_answer.body) ==
        std::optional<std::string>(std::string(kPortalBase) + "/saml/acs"));
  const auto saml = form_value(run.proxy_answer.body, "SAMLResponse");
  REQUIRE(saml);
  const auto rs = form_value(run.proxy_answer.body, "RelayState").value_or("");
  return w.portal->handle_acs(post_form("/saml/acs", *saml, rs, run.portal_cookies));
}

const std::vector<std::string> *session_values(const Session &s, std::string_view name) {
  for (const auto &[n, v] : s.attributes)
    if (n == name) return &v;
  return nullptr;
}

} // namespace

TEST_CASE("proxy: Clara logs in at the portal through NRW", "[proxy]") {
  World w;
  const Run run = run_to_proxy_acs(w, clara());
  const AcsOutcome out = portal_acs(w, run);
  INFO((out.error ? std::string(to_string(out.error->code())) + ": " + out.error->detail() : std::string()));
  REQUIRE_FALSE(out.error.has_value());
  REQUIRE(out.session.has_value());
  REQUIRE(out.result.has_value());
  CHECK(out.response.header("Location") == std::optional<std::string_view>("/bauvoranfrage"));
  CHECK(out.result->issuer == kProxyIdp);
  CHECK(out.session->idp_entity_id == kProxyIdp);

  const auto *given = session_values(*out.session, "urn:oid:2.5.4.42");
  const auto *sur = session_values(*out.session, "urn:oid:2.5.4.4");
  REQUIRE(given != nullptr);
  REQUIRE(sur != nullptr);
  CHECK(*given == std::vector<std::string>{"Clara"});
  CHECK(*sur == std::vector<std::string>{"Schmidt"});
  // Not released to this portal.
  CHECK(session_values(*out.session, "urn:oid:1.2.40.0.10.2.1.1.55") == nullptr);
  // Trust level passed through, not raised.
  CHECK(out.session->authn_context_class_ref == "STORK-QAA-Level-3");
  CHECK(effective_trust_level(*out.result) == 3);
  // NRW's NameID is not passed on as is.
  CHECK(out.session->name_id != "AAdzZWNyZXQxMjM0NTY3ODkw");
  // The pending request is consumed.
  CHECK(w.pending->size() == 0);
}

TEST_CASE("proxy: upstream level below the portal's minimum -> SAML error to the portal", "[proxy]") {
  World w(4); // the portal asks for STORK-QAA-Level-4, NRW delivers 3
  const Run run = run_to_proxy_acs(w, clara("STORK-QAA-Level-3"));
  const AcsOutcome out = portal_acs(w, run);
  REQUIRE(out.error.has_value());
  CHECK(out.error->code() == ErrorCode::status_not_success);
  CHECK_FALSE(out.session.has_value());
  CHECK(w.pending->size() == 0);
}

TEST_CASE("proxy: a replayed upstream response is refused", "[proxy]") {
  World w;
  const Run run = run_to_proxy_acs(w, clara());
  REQUIRE(run.proxy_answer.status == 200);
  REQUIRE(form_value(run.proxy_answer.body, "SAMLResponse").has_value());
  // The same upstream response posted again (same browser, same cookies).
  const HttpResponse again = w.proxy->handle(
      post_form("/proxy/acs", run.upstream_response, run.upstream_relay_state, run.proxy_cookies));
  CHECK(again.status == 403);
  CHECK_FALSE(form_value(again.body, "SAMLResponse").has_value());
}

TEST_CASE("proxy: unknown routes and a request from an unknown portal", "[proxy]") {
  World w;
  HttpRequest r;
  r.path = "/nowhere";
  CHECK(w.proxy->handle(r).status == 404);
  r.path = "/proxy/sso";
  r.raw_query = "SAMLRequest=bm9uc2Vuc2U";
  const HttpResponse bad = w.proxy->handle(r);
  CHECK(bad.status == 400);
  CHECK(w.pending->size() == 0);
  r.path = "/proxy/sp/metadata";
  r.raw_query.clear();
  const HttpResponse md = w.proxy->handle(r);
  CHECK(md.status == 200);
  CHECK(md.body.find(kProxySp) != std::string::npos);
}

// SPDX-License-Identifier: EUPL-1.2
// The proxy in a small federation, in-process: two upstream IdPs
// (Servicekonto.NRW, Servicekonto Hamburg), two portals of Servicekonto
// Thüringen (Bauvoranfrage, Hundesteuer), discovery in between. Every case
// of the proxy's contract: happy paths through the choice page, release per
// portal, and each failure reaching the portal as a SAML error Response (or,
// where the portal itself cannot be trusted, an error page and no POST).

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/discovery.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/proxy.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"
#include "unit/saml_browser.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"

using namespace interkonto;

namespace {

using test::form_action;
using test::form_value;
using test::get_request;
using test::idp_config;
using test::query_of;

constexpr const char *kNrw = "https://sk.nrw.example/idp";
constexpr const char *kNrwSso = "https://sk.nrw.example/idp/sso";
constexpr const char *kHh = "https://sk.hamburg.example/idp";
constexpr const char *kHhSso = "https://sk.hamburg.example/idp/sso";
constexpr const char *kProxyIdp = "https://sk.thueringen.example/idp";
constexpr const char *kProxySso = "https://sk.thueringen.example/proxy/sso";
constexpr const char *kProxySp = "https://sk.thueringen.example/sp";
constexpr const char *kProxyBase = "https://sk.thueringen.example";
constexpr const char *kBau = "https://bauportal.thueringen.example/sp";
constexpr const char *kBauBase = "https://bauportal.thueringen.example";
constexpr const char *kHund = "https://hundesteuer.thueringen.example/sp";
constexpr const char *kHundBase = "https://hundesteuer.thueringen.example";

constexpr const char *kGiven = "urn:oid:2.5.4.42";
constexpr const char *kSur = "urn:oid:2.5.4.4";
constexpr const char *kBirth = "urn:oid:1.2.40.0.10.2.1.1.55";
constexpr const char *kStreet = "urn:oid:2.5.4.16";
constexpr const char *kLevelAttr = "urn:oid:1.2.40.0.10.2.1.1.261.94";

// Cookie jar of one browser at one site: Set-Cookie headers applied in order.
struct Jar {
  std::map<std::string, std::string> cookies;
  void take(const HttpResponse &r) {
    for (const auto &[n, v] : r.headers) {
      if (n != "Set-Cookie") continue;
      const std::string pair = v.substr(0, v.find(';'));
      const auto eq = pair.find('=');
      const std::string name = pair.substr(0, eq);
      const std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
      if (value.empty() || v.find("Max-Age=0") != std::string::npos)
        cookies.erase(name);
      else
        cookies[name] = value;
    }
  }
  std::string header() const {
    std::string out;
    for (const auto &[n, v] : cookies) out += (out.empty() ? "" : "; ") + n + "=" + v;
    return out;
  }
};

std::string path_of(std::string_view location) {
  std::string_view l = location;
  if (l.starts_with("https://")) l = l.substr(l.find('/', 8));
  return std::string(l.substr(0, l.find('?')));
}

HttpRequest get(const std::string &location, const Jar &jar) {
  HttpRequest r;
  r.method = "GET";
  r.path = path_of(location);
  if (const auto q = location.find('?'); q != std::string::npos) r.raw_query = location.substr(q + 1);
  if (!jar.cookies.empty()) r.headers.emplace_back("Cookie", jar.header());
  return r;
}

HttpRequest post_form(const std::string &path, const std::string &body, const Jar &jar) {
  HttpRequest r;
  r.method = "POST";
  r.path = path;
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  if (!jar.cookies.empty()) r.headers.emplace_back("Cookie", jar.header());
  r.body = body;
  return r;
}

HttpRequest post_saml(const std::string &path, const std::string &saml_response,
                      const std::string &relay_state, const Jar &jar) {
  return test::post_form(path, saml_response, relay_state, jar.header());
}

AuthenticatedSubject citizen(const std::string &given, const std::string &level = "STORK-QAA-Level-3") {
  AuthenticatedSubject s;
  s.name_id = "stable-" + given;
  s.authn_context_class_ref = level;
  s.session_index = "_upstream-session";
  s.attributes = {{kGiven, {given}, "givenName", ""},
                  {kSur, {"Schmidt"}, "surname", ""},
                  {kBirth, {"1990-04-12"}, "birthdate", ""},
                  {kStreet, {"Königsallee 1"}, "postalAddress", ""},
                  {kLevelAttr, {level}, "trustLevel", ""}};
  return s;
}

constexpr const char *kAttributeMap = R"(
profiles: [servicekonto]
release:
  "https://bauportal.thueringen.example/sp":
    allow: [givenName, surname, birthdate, postalAddress, trustLevel]
  "https://hundesteuer.thueringen.example/sp":
    allow: [givenName, surname]
)";

LoginOptions login(std::string return_to = "/bauvoranfrage") {
  LoginOptions o;
  o.return_to = std::move(return_to);
  return o;
}

EntityPtr idp_entity(const char *entity, const char *sso, const Credential &c,
                     const std::shared_ptr<const Clock> &clock) {
  return parse_metadata(IdentityProvider(idp_config(entity, sso, c), clock).metadata_xml()).front();
}

struct PortalOptions {
  const char *entity = kBau;
  const char *base = kBauBase;
  std::optional<int> min_level = std::nullopt;
  bool sign = true;
  std::vector<AkdbRequestExtension::RequestedAttribute> requested = {};
  std::string name_id_format = std::string(nameid::transient);
};

struct Federation {
  std::shared_ptr<FixedClock> clock = std::make_shared<FixedClock>(test::base_time());
  std::shared_ptr<InMemoryPendingStore> pending = std::make_shared<InMemoryPendingStore>();
  std::vector<ProxyAuditRecord> audits;
  std::vector<std::string> log_lines;
  std::mutex log_mu;
  std::unique_ptr<Proxy> proxy;
  std::unique_ptr<IdentityProvider> nrw;
  std::unique_ptr<IdentityProvider> hh;
  std::map<std::string, EntityPtr> portal_metadata; // what the proxy knows

  const Credential &nrw_cred = test::cached_credential(60, "sk.nrw.example");
  const Credential &hh_cred = test::cached_credential(61, "sk.hamburg.example");
  const Credential &proxy_idp_cred = test::cached_credential(62, "sk.thueringen.example idp");
  const Credential &proxy_sp_cred = test::cached_credential(63, "sk.thueringen.example sp");
  const Credential &bau_cred = test::cached_credential(64, "bauportal.thueringen.example");
  const Credential &hund_cred = test::cached_credential(65, "hundesteuer.thueringen.example");

  EntityPtr proxy_idp_entity;

  explicit Federation(std::optional<unsigned> upstream_proxy_count = std::nullopt,
                      std::string pairwise_secret = {}) {
    const EntityPtr nrw_entity = idp_entity(kNrw, kNrwSso, nrw_cred, clock);
    const EntityPtr hh_entity = idp_entity(kHh, kHhSso, hh_cred, clock);
    proxy_idp_entity = idp_entity(kProxyIdp, kProxySso, proxy_idp_cred, clock);

    ProxyConfig c(idp_config(kProxyIdp, kProxySso, proxy_idp_cred));
    c.idp.pairwise_secret = std::move(pairwise_secret);
    for (const char *p : {kBau, kHund}) {
      PortalOptions o;
      o.entity = p;
      o.base = p == kBau ? kBauBase : kHundBase;
      c.idp.sps.push_back(parse_metadata(portal(o)->metadata_xml()).front());
    }
    c.sp.entity_id = kProxySp;
    c.sp.base_url = kProxyBase;
    c.sp.acs_path = "/proxy/acs";
    c.sp.login_path = "/proxy/login";
    c.sp.metadata_path = "/proxy/sp/metadata";
    c.sp.signing = proxy_sp_cred;
    IdpSettings a;
    a.entity = nrw_entity;
    IdpSettings b;
    b.entity = hh_entity;
    c.sp.idps = {a, b};
    DiscoveryConfig dc;
    dc.page_path = "/proxy/discovery";
    dc.login_path = "/proxy/login";
    dc.cookie_secret = std::string(32, 'k');
    c.sp.discovery = std::make_shared<Discovery>(std::vector<EntityPtr>{nrw_entity, hh_entity}, dc, clock);
    c.attributes = AttributeMap::from_yaml(kAttributeMap);
    if (upstream_proxy_count) c.upstream_proxy_count = *upstream_proxy_count;
    c.audit = [this](const ProxyAuditRecord &r) {
      const std::lock_guard<std::mutex> lock(log_mu);
      audits.push_back(r);
    };
    proxy = std::make_unique<Proxy>(
        c, pending, std::make_shared<InMemorySessionStore>(), std::make_shared<InMemoryRequestTracker>(),
        std::make_shared<InMemoryReplayCache>(), clock, [this](LogLevel, std::string_view m) {
          const std::lock_guard<std::mutex> lock(log_mu);
          log_lines.emplace_back(m);
        });

    const EntityPtr proxy_sp_entity = parse_metadata(proxy->sp().metadata_xml()).front();
    IdpConfig nc = idp_config(kNrw, kNrwSso, nrw_cred);
    nc.sps = {proxy_sp_entity};
    nrw = std::make_unique<IdentityProvider>(nc, clock);
    IdpConfig hc = idp_config(kHh, kHhSso, hh_cred);
    hc.sps = {proxy_sp_entity};
    hh = std::make_unique<IdentityProvider>(hc, clock);
  }

  // A portal SP (its own tracker and stores) toward the proxy.
  std::unique_ptr<ServiceProvider> portal(const PortalOptions &o) const {
    SpConfig pc;
    pc.entity_id = o.entity;
    pc.base_url = o.base;
    pc.signing = std::string(o.entity) == kBau ? bau_cred : hund_cred;
    IdpSettings to_proxy;
    to_proxy.entity = proxy_idp_entity;
    to_proxy.sign_authn_requests = o.sign;
    pc.idps = {to_proxy};
    pc.min_trust_level = o.min_level;
    pc.name_id_format = o.name_id_format;
    if (!o.requested.empty()) {
      AkdbRequestExtension ext;
      ext.requested_attributes = o.requested;
      pc.akdb_extension = ext;
    }
    return std::make_unique<ServiceProvider>(pc, std::make_shared<InMemorySessionStore>(),
                                             std::make_shared<InMemoryRequestTracker>(),
                                             std::make_shared<InMemoryReplayCache>(), clock);
  }

  const IdentityProvider &upstream(const std::string &entity) const { return entity == kNrw ? *nrw : *hh; }
};

// One browser's run through the federation, step by step.
struct Browser {
  Federation &f;
  ServiceProvider &portal;
  Jar portal_jar, proxy_jar;
  HttpResponse at_proxy; // the proxy's answer to the portal's request
  std::optional<ReceivedAuthnRequest> upstream_request;
  std::string upstream_response, upstream_relay_state;
  HttpResponse proxy_answer; // the proxy's answer to the upstream response

  Browser(Federation &fed, ServiceProvider &p) : f(fed), portal(p) {}

  // Portal -> proxy SSO.
  HttpResponse to_proxy(const LoginOptions &opt = login()) {
    const HttpResponse start = portal.start_login(opt);
    REQUIRE(start.status == 302);
    portal_jar.take(start);
    const auto loc = start.header("Location");
    REQUIRE(loc);
    REQUIRE(loc->starts_with(std::string(kProxySso) + "?"));
    at_proxy = f.proxy->handle(get(std::string(*loc), proxy_jar));
    proxy_jar.take(at_proxy);
    return at_proxy;
  }

  // Discovery page -> choose -> proxy login step -> 302 upstream.
  HttpResponse choose(const std::string &idp) {
    REQUIRE(at_proxy.status == 303);
    const auto page_loc = at_proxy.header("Location");
    REQUIRE(page_loc);
    REQUIRE(page_loc->starts_with("/proxy/discovery?"));
    const HttpResponse page = f.proxy->handle(get(std::string(*page_loc), proxy_jar));
    REQUIRE(page.status == 200);
    const auto rt = get(std::string(*page_loc), proxy_jar).query_param("return_to");
    REQUIRE(rt);
    const HttpResponse chosen = f.proxy->handle(post_form(
        "/proxy/discovery/choose", "idp=" + url_encode(idp) + "&return_to=" + url_encode(*rt), proxy_jar));
    REQUIRE(chosen.status == 303);
    proxy_jar.take(chosen);
    const auto login_loc = chosen.header("Location");
    REQUIRE(login_loc);
    REQUIRE(login_loc->starts_with("/proxy/login?"));
    const HttpResponse up = f.proxy->handle(get(std::string(*login_loc), proxy_jar));
    proxy_jar.take(up);
    return up;
  }

  // Upstream IdP reads the request from the 302.
  const ReceivedAuthnRequest &at_upstream(const HttpResponse &redirect) {
    REQUIRE(redirect.status == 302);
    const auto loc = redirect.header("Location");
    REQUIRE(loc);
    const bool nrw = loc->starts_with(std::string(kNrwSso) + "?");
    REQUIRE((nrw || loc->starts_with(std::string(kHhSso) + "?")));
    upstream_request =
        f.upstream(nrw ? kNrw : kHh).receive_authn_request(get_request("/idp/sso", query_of(*loc)));
    return *upstream_request;
  }

  // Upstream IdP answers (from `idp`, a subject or an error) -> proxy ACS.
  HttpResponse upstream_answers(const std::string &idp, const std::optional<AuthenticatedSubject> &subject,
                                std::string_view second_level = status::authn_failed) {
    REQUIRE(upstream_request);
    const IdentityProvider &up = f.upstream(idp);
    const std::string xml = subject
                                ? up.build_response(*upstream_request, *subject)
                                : up.build_error_response(*upstream_request, status::responder, second_level);
    const HttpResponse page = up.post_response(*upstream_request, xml);
    REQUIRE(page.status == 200);
    CHECK(form_action(page.body) == std::optional<std::string>(std::string(kProxyBase) + "/proxy/acs"));
    upstream_response = form_value(page.body, "SAMLResponse").value_or("");
    upstream_relay_state = form_value(page.body, "RelayState").value_or("");
    REQUIRE_FALSE(upstream_response.empty());
    proxy_answer =
        f.proxy->handle(post_saml("/proxy/acs", upstream_response, upstream_relay_state, proxy_jar));
    proxy_jar.take(proxy_answer);
    return proxy_answer;
  }

  // The proxy's auto-POST form -> portal ACS.
  AcsOutcome at_portal(const HttpResponse &form) {
    REQUIRE(form.status == 200);
    const auto action = form_action(form.body);
    REQUIRE(action);
    CHECK(action->ends_with("/saml/acs"));
    const auto saml = form_value(form.body, "SAMLResponse");
    REQUIRE(saml);
    const auto rs = form_value(form.body, "RelayState").value_or("");
    return portal.handle_acs(post_saml("/saml/acs", *saml, rs, portal_jar));
  }
};

const std::vector<std::string> *session_values(const Session &s, std::string_view name) {
  for (const auto &[n, v] : s.attributes)
    if (n == name) return &v;
  return nullptr;
}

std::string describe(const AcsOutcome &o) {
  return o.error ? std::string(to_string(o.error->code())) + ": " + o.error->detail() : std::string("ok");
}

// The SAML error the portal received: status_not_success with this second-level code.
void require_portal_error(const AcsOutcome &o, std::string_view second_level) {
  INFO(describe(o));
  REQUIRE(o.error.has_value());
  CHECK(o.error->code() == ErrorCode::status_not_success);
  CHECK_FALSE(o.session.has_value());
  REQUIRE(o.status.has_value());
  CHECK(o.status->code == status::responder);
  CHECK(o.status->second_level == second_level);
}

bool no_form(const HttpResponse &r) {
  return !form_value(r.body, "SAMLResponse").has_value() && !r.header("Location").has_value();
}

} // namespace

TEST_CASE("proxy federation: Clara chooses NRW on the discovery page and reaches the Bauvoranfrage portal",
          "[proxy][integration]") {
  Federation f;
  const auto portal = f.portal({.min_level = 3, .requested = {{kGiven, true}, {kBirth, false}}});
  Browser b(f, *portal);
  b.to_proxy();
  REQUIRE(b.at_proxy.status == 303); // no hint, no remembered choice: the choice page
  CHECK(f.pending->size() == 1);
  const HttpResponse up = b.choose(kNrw);
  const ReceivedAuthnRequest &rec = b.at_upstream(up);
  CHECK(rec.issuer == kProxySp);
  // The minimum level, the requested attributes and loop protection travel upstream.
  CHECK(rec.requested_class_refs == std::vector<std::string>{"STORK-QAA-Level-3"});
  CHECK(rec.comparison == "minimum");
  REQUIRE(rec.proxy_count.has_value());
  CHECK(*rec.proxy_count <= 1);
  CHECK(rec.requester_ids == std::vector<std::string>{kBau});
  std::vector<std::string> asked;
  for (const auto &ra : rec.requested_attributes) asked.push_back(ra.name);
  CHECK(asked == std::vector<std::string>{kGiven, kBirth});
  CHECK(rec.requested_attributes.front().is_required);

  f.clock->advance(std::chrono::seconds(40));
  const HttpResponse answer = b.upstream_answers(kNrw, citizen("Clara"));
  const AcsOutcome out = b.at_portal(answer);
  INFO(describe(out));
  REQUIRE(out.session.has_value());
  CHECK(out.response.header("Location") == std::optional<std::string_view>("/bauvoranfrage"));
  CHECK(out.session->idp_entity_id == kProxyIdp);
  CHECK(out.session->authn_context_class_ref == "STORK-QAA-Level-3");
  REQUIRE(out.result.has_value());
  // The portal learns where Clara really logged in.
  CHECK(out.result->authenticating_authorities == std::vector<std::string>{kNrw});
  CHECK(out.session->authenticating_authorities == std::vector<std::string>{kNrw});
  REQUIRE(session_values(*out.session, kGiven) != nullptr);
  CHECK(*session_values(*out.session, kGiven) == std::vector<std::string>{"Clara"});
  // Requested attributes only (givenName, birthdate), even though more are allowed.
  REQUIRE(session_values(*out.session, kBirth) != nullptr);
  CHECK(*session_values(*out.session, kBirth) == std::vector<std::string>{"1990-04-12"});
  CHECK(session_values(*out.session, kSur) == nullptr);
  CHECK(session_values(*out.session, kStreet) == nullptr);
  CHECK(f.pending->size() == 0);

  // The audit record: who, where, levels, names; no personal values anywhere in the log.
  REQUIRE(f.audits.size() == 1);
  const ProxyAuditRecord &a = f.audits.front();
  CHECK(a.success);
  CHECK(a.portal == kBau);
  CHECK(a.upstream_idp == kNrw);
  CHECK(a.upstream_request_id == rec.id);
  CHECK(a.requested_level == std::optional<int>(3));
  CHECK(a.delivered_level == std::optional<int>(3));
  CHECK(a.issued_level == std::optional<int>(3));
  CHECK(a.upstream == std::chrono::milliseconds(40'000));
  CHECK(a.total == std::chrono::milliseconds(40'000));
  CHECK(std::find(a.released.begin(), a.released.end(), "givenName") != a.released.end());
  bool logged = false;
  for (const auto &line : f.log_lines) {
    CHECK(line.find("Clara") == std::string::npos);
    CHECK(line.find("1990") == std::string::npos);
    CHECK(line.find("Königsallee") == std::string::npos);
    if (line.starts_with("interkonto audit {")) {
      logged = true;
      CHECK(line.find("\"result\":\"success\"") != std::string::npos);
      CHECK(line.find(rec.id) != std::string::npos);
    }
  }
  CHECK(logged);
}

TEST_CASE("proxy federation: the Hundesteuer portal via Hamburg gets only what it is allowed",
          "[proxy][integration]") {
  Federation f;
  const auto portal = f.portal({.entity = kHund, .base = kHundBase});
  Browser b(f, *portal);
  b.to_proxy();
  const HttpResponse up = b.choose(kHh);
  b.at_upstream(up);
  const AcsOutcome out = b.at_portal(b.upstream_answers(kHh, citizen("Hanna")));
  INFO(describe(out));
  REQUIRE(out.session.has_value());
  REQUIRE(session_values(*out.session, kGiven) != nullptr);
  CHECK(*session_values(*out.session, kGiven) == std::vector<std::string>{"Hanna"});
  CHECK(session_values(*out.session, kSur) != nullptr);
  CHECK(session_values(*out.session, kBirth) == nullptr);
  CHECK(session_values(*out.session, kStreet) == nullptr);
  CHECK(session_values(*out.session, kLevelAttr) == nullptr);
  REQUIRE(f.audits.size() == 1);
  const auto &w = f.audits.front().withheld;
  CHECK(std::find(w.begin(), w.end(), "birthdate") != w.end());
  CHECK(std::find(w.begin(), w.end(), "postalAddress") != w.end());
  CHECK(f.audits.front().upstream_idp == kHh);
}

TEST_CASE("proxy federation: a remembered choice skips the page", "[proxy][integration]") {
  Federation f;
  const auto portal = f.portal({});
  Browser first(f, *portal);
  first.to_proxy();
  REQUIRE(first.at_proxy.status == 303);
  // Choose NRW with "remember".
  const auto page_loc = first.at_proxy.header("Location");
  REQUIRE(page_loc);
  const auto rt = get(std::string(*page_loc), first.proxy_jar).query_param("return_to");
  REQUIRE(rt);
  const HttpResponse chosen = f.proxy->handle(
      post_form("/proxy/discovery/choose",
                "idp=" + url_encode(kNrw) + "&remember=1&return_to=" + url_encode(*rt), first.proxy_jar));
  REQUIRE(chosen.status == 303);
  first.proxy_jar.take(chosen);

  Browser second(f, *portal);
  second.proxy_jar = first.proxy_jar;
  const HttpResponse up = second.to_proxy();
  REQUIRE(up.status == 302);
  CHECK(second.at_upstream(up).issuer == kProxySp);
  const AcsOutcome out = second.at_portal(second.upstream_answers(kNrw, citizen("Clara")));
  INFO(describe(out));
  CHECK(out.session.has_value());
}

TEST_CASE("proxy federation: requests the proxy must not answer with a POST", "[proxy][integration]") {
  Federation f;

  SECTION("unknown portal") {
    SpConfig pc;
    pc.entity_id = "https://unknown-portal.example/sp";
    pc.base_url = "https://unknown-portal.example";
    pc.signing = test::cached_credential(66, "unknown-portal.example");
    IdpSettings to_proxy;
    to_proxy.entity = f.proxy_idp_entity;
    pc.idps = {to_proxy};
    ServiceProvider unknown(pc, nullptr, nullptr, std::make_shared<InMemoryReplayCache>(), f.clock);
    Browser b(f, unknown);
    const HttpResponse r = b.to_proxy();
    CHECK(r.status == 400);
    CHECK(no_form(r));
  }
  SECTION("unsigned request while the proxy requires signed ones") {
    const auto portal = f.portal({.sign = false});
    Browser b(f, *portal);
    const HttpResponse r = b.to_proxy();
    CHECK(r.status == 400);
    CHECK(no_form(r));
  }
  SECTION("ACS URL not in the portal's metadata") {
    // Same entityID and key, but an ACS URL the proxy's metadata does not list.
    const auto portal = f.portal({.base = "https://evil.example"});
    Browser b(f, *portal);
    const HttpResponse r = b.to_proxy();
    CHECK(r.status == 400);
    CHECK(no_form(r));
    CHECK(r.body.find("evil.example") == std::string::npos);
  }
  SECTION("a portal request replayed") {
    const auto portal = f.portal({});
    const HttpResponse start = portal->start_login(login("/"));
    const auto loc = start.header("Location");
    REQUIRE(loc);
    const HttpResponse once = f.proxy->handle(get(std::string(*loc), Jar{}));
    CHECK(once.status == 303);
    const HttpResponse twice = f.proxy->handle(get(std::string(*loc), Jar{}));
    CHECK(twice.status == 400);
    CHECK(no_form(twice));
  }
  CHECK(f.pending->size() <= 1);
  for (const auto &a : f.audits) CHECK_FALSE(a.success);
}

TEST_CASE("proxy federation: upstream failures reach the portal as SAML errors", "[proxy][integration]") {
  Federation f;

  SECTION("upstream level below the portal's minimum") {
    const auto portal = f.portal({.min_level = 3});
    Browser b(f, *portal);
    b.to_proxy();
    b.at_upstream(b.choose(kNrw));
    const AcsOutcome out = b.at_portal(b.upstream_answers(kNrw, citizen("Clara", "STORK-QAA-Level-2")));
    require_portal_error(out, status::no_authn_context);
    REQUIRE(f.audits.size() == 1);
    CHECK(f.audits.front().cause == "authn_context_insufficient");
    CHECK(f.audits.front().delivered_level == std::optional<int>(2));
    CHECK(f.audits.front().requested_level == std::optional<int>(3));
    CHECK_FALSE(f.audits.front().issued_level.has_value());
    CHECK(f.audits.front().portal_status == "NoAuthnContext");
  }
  SECTION("the citizen cancels at the upstream IdP") {
    const auto portal = f.portal({});
    Browser b(f, *portal);
    b.to_proxy();
    b.at_upstream(b.choose(kNrw));
    const AcsOutcome out = b.at_portal(b.upstream_answers(kNrw, std::nullopt, status::authn_failed));
    require_portal_error(out, status::authn_failed);
    REQUIRE(f.audits.size() == 1);
    CHECK(f.audits.front().cause == "status_not_success");
  }
  SECTION("the upstream IdP cannot be passive") {
    const auto portal = f.portal({});
    Browser b(f, *portal);
    b.to_proxy();
    b.at_upstream(b.choose(kHh));
    const AcsOutcome out = b.at_portal(b.upstream_answers(kHh, std::nullopt, status::no_passive));
    require_portal_error(out, status::no_passive);
  }
  SECTION("the answer comes from another IdP than the one asked") {
    const auto portal = f.portal({});
    Browser b(f, *portal);
    b.to_proxy();
    b.at_upstream(b.choose(kNrw));
    const AcsOutcome out = b.at_portal(b.upstream_answers(kHh, citizen("Mallory")));
    require_portal_error(out, status::authn_failed);
    CHECK(f.audits.back().cause == "issuer_mismatch");
  }
  SECTION("the pending request expired") {
    const auto portal = f.portal({});
    Browser b(f, *portal);
    b.to_proxy();
    b.at_upstream(b.choose(kNrw));
    f.clock->advance(std::chrono::minutes(11));
    const AcsOutcome out = b.at_portal(b.upstream_answers(kNrw, citizen("Clara")));
    require_portal_error(out, status::request_denied);
    CHECK(f.audits.back().cause == "expired");
  }
  SECTION("the pending request expired on the discovery page") {
    const auto portal = f.portal({});
    Browser b(f, *portal);
    b.to_proxy();
    f.clock->advance(std::chrono::minutes(11));
    const AcsOutcome out = b.at_portal(b.choose(kNrw));
    require_portal_error(out, status::request_denied);
  }
  CHECK(f.pending->size() == 0);
}

TEST_CASE("proxy federation: a replayed upstream response is refused", "[proxy][integration]") {
  Federation f;
  const auto portal = f.portal({});
  Browser b(f, *portal);
  b.to_proxy();
  b.at_upstream(b.choose(kNrw));
  const AcsOutcome first = b.at_portal(b.upstream_answers(kNrw, citizen("Clara")));
  REQUIRE(first.session.has_value());

  // Same browser, same response again.
  const HttpResponse again =
      f.proxy->handle(post_saml("/proxy/acs", b.upstream_response, b.upstream_relay_state, b.proxy_jar));
  CHECK(again.status >= 400);
  CHECK(no_form(again));
  // Another browser (no cookies) with the captured response.
  const HttpResponse stolen =
      f.proxy->handle(post_saml("/proxy/acs", b.upstream_response, b.upstream_relay_state, Jar{}));
  CHECK(stolen.status >= 400);
  CHECK(no_form(stolen));
  // A captured response with the RelayState of another pending login: refused
  // with an error page, and that other login is left alone (it completes).
  Browser other(f, *portal);
  other.to_proxy();
  const HttpResponse up = other.choose(kNrw);
  REQUIRE(up.status == 302);
  HttpRequest to_upstream;
  to_upstream.raw_query = query_of(*up.header("Location"));
  const auto rs = to_upstream.query_param("RelayState");
  REQUIRE(rs);
  const HttpResponse spliced =
      f.proxy->handle(post_saml("/proxy/acs", b.upstream_response, *rs, other.proxy_jar));
  CHECK(spliced.status >= 400);
  CHECK(no_form(spliced));
  other.at_upstream(up);
  const AcsOutcome out = other.at_portal(other.upstream_answers(kNrw, citizen("Otto")));
  INFO(describe(out));
  REQUIRE(out.session.has_value());
  CHECK(*session_values(*out.session, kGiven) == std::vector<std::string>{"Otto"});
}

TEST_CASE("proxy federation: loop protection", "[proxy][integration]") {
  SECTION("ProxyCount 0 from the portal") {
    Federation f;
    const auto portal = f.portal({});
    Browser b(f, *portal);
    LoginOptions o = login("/");
    o.proxy_count = 0;
    const AcsOutcome out = b.at_portal(b.to_proxy(o));
    require_portal_error(out, status::proxy_count_exceeded);
    CHECK(f.pending->size() == 0);
  }
  SECTION("the proxy already in the RequesterID chain") {
    Federation f;
    const auto portal = f.portal({});
    Browser b(f, *portal);
    LoginOptions o = login("/");
    o.requester_ids = {"https://somewhere.example/sp", kProxySp};
    const AcsOutcome out = b.at_portal(b.to_proxy(o));
    require_portal_error(out, status::proxy_count_exceeded);
    CHECK(f.audits.back().cause == "loop");
  }
  SECTION("ProxyCount passed on, decremented, capped by configuration") {
    Federation f(5);
    const auto portal = f.portal({});
    Browser b(f, *portal);
    LoginOptions o = login("/");
    o.proxy_count = 3;
    o.requester_ids = {"https://citizen-app.example"};
    b.to_proxy(o);
    const ReceivedAuthnRequest &rec = b.at_upstream(b.choose(kNrw));
    CHECK(rec.proxy_count == std::optional<unsigned>(2));
    CHECK(rec.requester_ids == std::vector<std::string>{"https://citizen-app.example", kBau});
  }
  SECTION("the citizen picks this proxy's own IdP as upstream") {
    Federation f;
    const auto portal = f.portal({});
    Browser b(f, *portal);
    b.to_proxy();
    const auto page_loc = b.at_proxy.header("Location");
    REQUIRE(page_loc);
    const auto rt = get(std::string(*page_loc), b.proxy_jar).query_param("return_to");
    REQUIRE(rt);
    // Straight to the login step (the page does not offer it).
    const HttpResponse r = f.proxy->handle(
        get("/proxy/login?idp=" + url_encode(kProxyIdp) + "&return_to=" + url_encode(*rt), b.proxy_jar));
    require_portal_error(b.at_portal(r), status::no_supported_idp);
  }
}

TEST_CASE("proxy federation: IsPassive without a preselected account", "[proxy][integration]") {
  Federation f;
  const auto portal = f.portal({});
  Browser b(f, *portal);
  LoginOptions o = login("/");
  o.is_passive = true;
  const AcsOutcome out = b.at_portal(b.to_proxy(o));
  require_portal_error(out, status::no_passive);
}

TEST_CASE("proxy federation: ForceAuthn travels upstream; the login step cannot be repeated",
          "[proxy][integration]") {
  Federation f;
  const auto portal = f.portal({});
  Browser b(f, *portal);
  LoginOptions o = login("/");
  o.force_authn = true;
  b.to_proxy(o);
  const auto page_loc = b.at_proxy.header("Location");
  REQUIRE(page_loc);
  const auto rt = get(std::string(*page_loc), b.proxy_jar).query_param("return_to");
  REQUIRE(rt);
  const std::string login = "/proxy/login?idp=" + url_encode(kNrw) + "&return_to=" + url_encode(*rt);
  const HttpResponse up = f.proxy->handle(get(login, b.proxy_jar));
  b.proxy_jar.take(up);
  CHECK(b.at_upstream(up).force_authn);
  // Back button / double submit: the first upstream request is the one that counts.
  const HttpResponse again = f.proxy->handle(get(login, b.proxy_jar));
  CHECK(again.status == 400);
  CHECK(no_form(again));
  // Unknown key.
  const HttpResponse unknown = f.proxy->handle(
      get("/proxy/login?idp=" + url_encode(kNrw) + "&return_to=" + url_encode("/proxy/continue?key=nope"),
          Jar{}));
  CHECK(unknown.status == 400);
  const AcsOutcome out = b.at_portal(b.upstream_answers(kNrw, citizen("Clara")));
  INFO(describe(out));
  CHECK(out.session.has_value());
}

TEST_CASE(
    "proxy federation: a portal asking for persistent NameIDs gets one per citizen, stable across logins",
    "[proxy][integration]") {
  Federation f(std::nullopt, "pairwise-secret-of-servicekonto-thueringen-0123456789");
  auto persistent = [&](const char *portal_entity, const std::string &transient_id) {
    PortalOptions o;
    o.entity = portal_entity;
    o.base = std::string(portal_entity) == kBau ? kBauBase : kHundBase;
    o.name_id_format = std::string(nameid::persistent);
    const auto portal = f.portal(o);
    Browser b(f, *portal);
    b.to_proxy();
    b.at_upstream(b.choose(kNrw));
    AuthenticatedSubject s = citizen("Clara");
    s.name_id = transient_id; // NRW sends transient NameIDs ...
    s.attributes.push_back(
        {"urn:oid:1.3.6.1.4.1.25484.494450.3", {"bpk2-of-clara"}, "bPK2", ""}); // ... and a bPK2
    const AcsOutcome out = b.at_portal(b.upstream_answers(kNrw, s));
    INFO(describe(out));
    REQUIRE(out.session.has_value());
    CHECK(out.session->name_id_format == nameid::persistent);
    return out.session->name_id;
  };
  const std::string first = persistent(kBau, "_transient-1");
  const std::string second = persistent(kBau, "_transient-2");
  const std::string other_portal = persistent(kHund, "_transient-3");
  CHECK(first == second);
  CHECK(first != other_portal);
  CHECK(first.find("bpk2") == std::string::npos);
}

// SPDX-License-Identifier: EUPL-1.2
// The SP's login endpoint with discovery: hint, remembered choice, or the page.

#include <catch2/catch.hpp>

#include "interkonto/discovery.hpp"
#include "unit/saml_fixture.hpp"

using namespace interkonto;
using namespace interkonto::test;

namespace {

struct Setup {
  EntityPtr nrw = idp_entity(idp_credential(), "https://nrw.example/idp");
  EntityPtr hh = idp_entity(idp_credential(), "https://hh.example/idp");
  std::shared_ptr<Discovery> discovery;
  std::unique_ptr<ServiceProvider> sp;

  Setup() {
    DiscoveryConfig dc;
    dc.cookie_secret = std::string(32, 'k');
    discovery = std::make_shared<Discovery>(std::vector<EntityPtr>{nrw, hh}, dc);
    SpConfig c;
    c.entity_id = kSp;
    c.base_url = "https://sp.thueringen.example";
    c.signing = self_signed_cert(rsa_key(2048, 9), "sp signing");
    IdpSettings a, b;
    a.entity = nrw;
    b.entity = hh;
    c.idps = {a, b};
    c.discovery = discovery;
    sp = std::make_unique<ServiceProvider>(c, nullptr, nullptr, std::make_shared<InMemoryReplayCache>());
  }

  HttpResponse login(const std::string &query, const std::string &cookie = {}) const {
    HttpRequest r;
    r.path = "/saml/login";
    r.raw_query = query;
    if (!cookie.empty()) r.headers.emplace_back("Cookie", cookie);
    return sp->handle_login(r);
  }
};

} // namespace

TEST_CASE("login without an IdP goes to the discovery page, keeping return_to", "[sp][discovery]") {
  Setup s;
  const HttpResponse r = s.login("return_to=%2Fbauvoranfrage");
  CHECK(r.status == 303);
  const std::string loc{r.header("Location").value_or("")};
  CHECK(loc.starts_with("/saml/discovery"));
  CHECK(loc.find("bauvoranfrage") != std::string::npos);
  // an open redirect is refused before the page
  CHECK(s.login("return_to=https%3A%2F%2Fevil.example%2F").status == 400);
}

TEST_CASE("an IdP named in the request or remembered skips the page", "[sp][discovery]") {
  Setup s;
  const HttpResponse named = s.login("idp=https%3A%2F%2Fhh.example%2Fidp&return_to=%2F");
  CHECK(named.status == 302);
  CHECK(std::string(named.header("Location").value_or("")).starts_with("https://hh.example/idp/sso?"));

  // remember NRW through the discovery page's choice
  HttpRequest choose;
  choose.method = "POST";
  choose.path = "/saml/discovery/choose";
  choose.body = "idp=" + url_encode("https://nrw.example/idp") + "&remember=1&return_to=%2F";
  choose.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  const HttpResponse chosen = s.discovery->handle(choose);
  REQUIRE(chosen.status == 303);
  std::string cookie;
  for (const auto &[k, v] : chosen.headers)
    if (k == "Set-Cookie") cookie = v.substr(0, v.find(';'));
  REQUIRE_FALSE(cookie.empty());
  const HttpResponse remembered = s.login("return_to=%2F", cookie);
  CHECK(remembered.status == 302);
  CHECK(std::string(remembered.header("Location").value_or("")).starts_with("https://nrw.example/idp/sso?"));
  // a tampered cookie does not select anything: the page is shown
  std::string tampered = cookie;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  CHECK(s.login("return_to=%2F", tampered).status == 303);
}

// SPDX-License-Identifier: EUPL-1.2
// IdP discovery: folding, the list with its name and logo fallbacks, search,
// the page (accessibility markup, escaping, CSP), the JSON feed, the
// remembered choice cookie, the IdP hint, and the SAML IdP Discovery
// Protocol (service and client), with the refusals of bad input.

#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "interkonto/bindings.hpp"
#include "interkonto/discovery.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/metadata_provider.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;
using namespace std::chrono_literals;

namespace {

constexpr const char *kThueringen = "https://idp.thueringen.example/saml";
constexpr const char *kBayern = "https://idp.bayern.example/saml";
constexpr const char *kNrw = "https://idp.nrw.example/saml";
constexpr const char *kBare = "https://idp.bare.example/saml";
constexpr const char *kEvil = "https://idp.evil.example/saml";
constexpr const char *kSp = "https://sp.example/sp";
constexpr const char *kSpNoDisco = "https://other-sp.example/sp";
constexpr const char *kReturn = "https://sp.example/ds-response";

const std::string kSecret = "0123456789abcdef0123456789abcdef-discovery-test";

std::string idp_xml(const std::string &id, const std::string &ui, const std::string &org = {}) {
  return "<md:EntityDescriptor entityID=\"" + id +
         "\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">" +
         (ui.empty() ? std::string()
                     : "<md:Extensions><mdui:UIInfo>" + ui + "</mdui:UIInfo></md:Extensions>") +
         "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
         "Location=\"" +
         id + "/sso\"/></md:IDPSSODescriptor>" + org + "</md:EntityDescriptor>";
}

std::string federation_xml() {
  std::string x = "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                  "xmlns:mdui=\"urn:oasis:names:tc:SAML:metadata:ui\" "
                  "xmlns:idpdisc=\"urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol\">";
  x +=
      idp_xml(kThueringen,
              "<mdui:DisplayName xml:lang=\"de\">Servicekonto Thüringen</mdui:DisplayName>"
              "<mdui:DisplayName xml:lang=\"en\">Service Account Thuringia</mdui:DisplayName>"
              "<mdui:Logo width=\"200\" height=\"200\">https://idp.thueringen.example/big.png</mdui:Logo>"
              "<mdui:Logo width=\"32\" height=\"32\">http://idp.thueringen.example/plain-http.png</mdui:Logo>"
              "<mdui:Logo width=\"32\" height=\"32\" "
              "xml:lang=\"de\">https://idp.thueringen.example/de.png</mdui:Logo>"
              "<mdui:Logo width=\"24\" height=\"24\">https://idp.thueringen.example/any.png</mdui:Logo>");
  x += idp_xml(kBayern,
               "<mdui:DisplayName xml:lang=\"de\">BayernID München</mdui:DisplayName>"
               "<mdui:Logo width=\"16\" height=\"16\">data:image/png;base64,iVBORw0KGgo=</mdui:Logo>");
  x += idp_xml(
      kNrw, "",
      "<md:Organization><md:OrganizationName xml:lang=\"de\">IT.NRW</md:OrganizationName>"
      "<md:OrganizationDisplayName xml:lang=\"de\">Servicekonto.NRW</md:OrganizationDisplayName>"
      "<md:OrganizationURL xml:lang=\"de\">https://nrw.example/</md:OrganizationURL></md:Organization>");
  x += idp_xml(kBare, "<mdui:Logo width=\"600\" height=\"300\">javascript:alert(1)</mdui:Logo>");
  x += idp_xml(kEvil, "<mdui:DisplayName xml:lang=\"de\">&lt;script&gt;alert(1)&lt;/script&gt; Böse &amp; Co "
                      "\"quoted\"</mdui:DisplayName>");
  x += "<md:EntityDescriptor entityID=\"" + std::string(kSp) +
       "\"><md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
       "<md:Extensions><idpdisc:DiscoveryResponse "
       "Binding=\"urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol\" Location=\"" +
       kReturn +
       "\" index=\"1\"/></md:Extensions>"
       "<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
       "Location=\"https://sp.example/acs\" index=\"0\"/></md:SPSSODescriptor></md:EntityDescriptor>";
  x += "<md:EntityDescriptor entityID=\"" + std::string(kSpNoDisco) +
       "\"><md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
       "<md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
       "Location=\"https://other-sp.example/acs\" index=\"0\"/></md:SPSSODescriptor></md:EntityDescriptor>";
  x += "</md:EntitiesDescriptor>";
  return x;
}

const std::vector<EntityPtr> &entities() {
  static const std::vector<EntityPtr> all = parse_metadata(federation_xml());
  return all;
}

std::vector<EntityPtr> entities_without(const std::string &id) {
  std::vector<EntityPtr> out;
  for (const auto &e : entities())
    if (e->entity_id != id) out.push_back(e);
  return out;
}

TimePoint t0() {
  return TimePoint(std::chrono::sys_days(std::chrono::year(2025) / 3 / 1).time_since_epoch());
}

DiscoveryConfig base_config() {
  DiscoveryConfig c;
  c.cookie_secret = kSecret;
  return c;
}

struct Fixture {
  std::shared_ptr<FixedClock> clock = std::make_shared<FixedClock>(t0());
  DiscoveryConfig config = base_config();
  std::unique_ptr<Discovery> make(std::vector<EntityPtr> list = entities()) const {
    return std::make_unique<Discovery>(std::move(list), config, clock);
  }
};

HttpRequest get(const std::string &path, const std::string &query = {}) {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.raw_query = query;
  return r;
}

HttpRequest post(const std::string &path, const std::string &body) {
  HttpRequest r;
  r.method = "POST";
  r.path = path;
  r.body = body;
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  return r;
}

HttpRequest with_cookie(HttpRequest r, const std::string &cookie) {
  r.headers.emplace_back("Cookie", cookie);
  return r;
}

std::vector<std::string> set_cookies(const HttpResponse &r) {
  std::vector<std::string> out;
  for (const auto &[n, v] : r.headers)
    if (n == "Set-Cookie") out.push_back(v);
  return out;
}

// "name=value" from a Set-Cookie header value.
std::string cookie_pair(const std::string &set_cookie) {
  return set_cookie.substr(0, set_cookie.find(';'));
}

std::size_t count(const std::string &hay, const std::string &needle) {
  std::size_t n = 0;
  for (std::size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

std::vector<std::string> ids_of(const std::vector<DiscoveryEntry> &list) {
  std::vector<std::string> out;
  for (const auto &e : list) out.push_back(e.entity_id);
  return out;
}

const DiscoveryEntry &entry(const std::vector<DiscoveryEntry> &list, const std::string &id) {
  for (const auto &e : list)
    if (e.entity_id == id) return e;
  FAIL("entry " << id << " not in the list");
  throw std::logic_error("unreachable");
}

// The remembered-choice cookie ("name=value") from choosing `idp` with remember=1.
std::string remember_cookie(const Discovery &d, const std::string &idp) {
  const HttpResponse r = d.handle(post("/saml/discovery/choose", "idp=" + url_encode(idp) + "&remember=1"));
  REQUIRE(r.status == 303);
  const auto cookies = set_cookies(r);
  REQUIRE(cookies.size() == 1);
  return cookie_pair(cookies.front());
}

std::string sha256_b64(const std::string &data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned len = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) == 1);
  return base64_encode(std::string(reinterpret_cast<const char *>(md.data()), len));
}

std::string style_content(const std::string &html) {
  const auto open = html.find("<style>");
  const auto close = html.find("</style>");
  REQUIRE(open != std::string::npos);
  REQUIRE(close != std::string::npos);
  return html.substr(open + 7, close - open - 7);
}

std::string ds_query(const std::string &ret, const std::string &extra = {}) {
  return "entityID=" + url_encode(kSp) + "&return=" + url_encode(ret) + extra;
}

std::string temp_file(const std::string &name, const std::string &content) {
  const std::string path = "/tmp/interkonto-test-discovery-" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

} // namespace

TEST_CASE("fold_for_search folds case, umlauts, ß and Latin diacritics", "[discovery]") {
  CHECK(fold_for_search("Thüringen") == "thueringen");
  CHECK(fold_for_search("MÜNCHEN") == "muenchen");
  CHECK(fold_for_search("Ärger Öl Übel") == "aerger oel uebel");
  CHECK(fold_for_search("Straße") == "strasse");
  CHECK(fold_for_search("GROẞ") == "gross");
  CHECK(fold_for_search("Éléonore Čapek Łódź Œuvre ĲSSEL") == "eleonore capek lodz oeuvre ijssel");
  CHECK(fold_for_search("ÆØÅ ñ ç ÿ") == "aeoa n c y");
  CHECK(fold_for_search("Servicekonto.NRW") == "servicekonto.nrw");
  // Not letters to fold: × and ÷, other scripts, a stray byte.
  CHECK(fold_for_search("2×3÷4") == "2×3÷4");
  CHECK(fold_for_search("日本") == "日本");
  CHECK(fold_for_search(std::string("A\xC3") + "B") == std::string("a\xC3") + "b");
  CHECK(fold_for_search("") == "");
}

TEST_CASE("discovery list: IdPs only, names in de/en with fallbacks, sorted", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const auto de = d->list("de");
  // SPs are not offered.
  CHECK(ids_of(de) == std::vector<std::string>{kEvil, kBayern, kBare, kThueringen, kNrw});
  CHECK(entry(de, kThueringen).display_name == "Servicekonto Thüringen");
  CHECK(entry(de, kBayern).display_name == "BayernID München");
  CHECK(entry(de, kNrw).display_name == "Servicekonto.NRW"); // OrganizationDisplayName
  CHECK(entry(de, kBare).display_name == kBare);             // entityID

  const auto en = d->list("en");
  CHECK(entry(en, kThueringen).display_name == "Service Account Thuringia");
  CHECK(entry(en, kBayern).display_name == "BayernID München"); // the other language
  CHECK(entry(en, kNrw).display_name == "Servicekonto.NRW");
  // The same answers as Entity::display_name.
  for (const auto &e : entities())
    if (e->idp) CHECK(entry(en, e->entity_id).display_name == e->display_name("en"));

  // Unknown languages fall back to the default language.
  CHECK(entry(d->list("fr"), kThueringen).display_name == "Servicekonto Thüringen");
  f.config.default_lang = "en";
  CHECK(entry(f.make()->list("xx"), kThueringen).display_name == "Service Account Thuringia");
}

TEST_CASE("discovery list: filter and validity", "[discovery]") {
  Fixture f;
  f.config.filter.exclude = {kEvil};
  auto ids = ids_of(f.make()->list("de"));
  CHECK(std::find(ids.begin(), ids.end(), kEvil) == ids.end());
  CHECK(ids.size() == 4);

  f.config.filter = {};
  f.config.filter.include = {kNrw, kSp};
  CHECK(ids_of(f.make()->list("de")) == std::vector<std::string>{kNrw});

  f.config.filter.role = EntityFilter::Role::sp;
  CHECK(code_of([&] { f.make(); }) == ErrorCode::config_invalid);
}

TEST_CASE("discovery list: logos from mdui, https or data only, small preferred", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const auto de = d->list("de");
  const auto &th = entry(de, kThueringen);
  CHECK(th.logo_url == "https://idp.thueringen.example/de.png"); // small, in the page language
  CHECK(th.logo_width == 32);
  CHECK(th.logo_height == 32);
  // In English the logo without language beats the German one; never the plain-http one.
  CHECK(entry(d->list("en"), kThueringen).logo_url == "https://idp.thueringen.example/any.png");
  CHECK(entry(de, kBayern).logo_url == "data:image/png;base64,iVBORw0KGgo=");
  CHECK(entry(de, kBare).logo_url.empty()); // javascript: URL skipped
  CHECK(entry(de, kNrw).logo_url.empty());
}

TEST_CASE("discovery search ignores case and folds umlauts", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  CHECK(ids_of(d->list("de", "thuer")) == std::vector<std::string>{kThueringen});
  CHECK(ids_of(d->list("de", "Thür")) == std::vector<std::string>{kThueringen});
  CHECK(ids_of(d->list("de", "thuringen")) == std::vector<std::string>{kThueringen});
  CHECK(ids_of(d->list("de", "mue")) == std::vector<std::string>{kBayern});
  CHECK(ids_of(d->list("en", "MÜNCHEN")) == std::vector<std::string>{kBayern});
  // Both languages are searched, whatever the page language.
  CHECK(ids_of(d->list("de", "thuringia")) == std::vector<std::string>{kThueringen});
  // The entityID is searched too; several words must all match.
  CHECK(ids_of(d->list("de", "idp.bare")) == std::vector<std::string>{kBare});
  CHECK(ids_of(d->list("de", "servicekonto nrw")) == std::vector<std::string>{kNrw});
  CHECK(ids_of(d->list("de", "  ")).size() == 5);
  CHECK(d->list("de", "brandenburg").empty());
}

TEST_CASE("discovery page: accessible, escaped markup in German and English", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const HttpResponse r = d->handle(get("/saml/discovery", "return_to=%2Fportal%2Fbauvoranfrage"));
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type") == "text/html; charset=utf-8");
  const std::string &b = r.body;
  CHECK(b.starts_with("<!DOCTYPE html>"));
  CHECK(b.find("<html lang=\"de\">") != std::string::npos);
  CHECK(b.find("<title>Mit welchem Nutzerkonto möchten Sie sich anmelden?</title>") != std::string::npos);
  CHECK(b.find("<h1>Mit welchem Nutzerkonto möchten Sie sich anmelden?</h1>") != std::string::npos);
  CHECK(count(b, "<main>") == 1);
  CHECK(count(b, "<h1>") == 1);
  // The search form: GET, a visible label bound to the field, a submit button.
  CHECK(b.find("method=\"get\" action=\"/saml/discovery\"") != std::string::npos);
  CHECK(b.find("<label for=\"q\">Nutzerkonto suchen</label>") != std::string::npos);
  CHECK(count(b, "id=\"q\"") == 1);
  CHECK(b.find("<button type=\"submit\">Suchen</button>") != std::string::npos);
  // The list: one POST form, a labelled checkbox, one button per IdP carrying its entityID.
  CHECK(b.find("<form class=\"choose\" method=\"post\" action=\"/saml/discovery/choose\">") !=
        std::string::npos);
  CHECK(count(b, "id=\"remember\"") == 1);
  CHECK(b.find("<label for=\"remember\">Auswahl merken</label>") != std::string::npos);
  CHECK(b.find("<ul class=\"idps\">") != std::string::npos);
  CHECK(count(b, "<li><button type=\"submit\" name=\"idp\"") == 5);
  CHECK(
      b.find(
          "value=\"https://idp.thueringen.example/saml\"><img src=\"https://idp.thueringen.example/de.png\" "
          "alt=\"\" width=\"32\" height=\"32\"><span>Servicekonto Thüringen</span></button>") !=
      std::string::npos);
  CHECK(b.find("<input type=\"hidden\" name=\"return_to\" value=\"/portal/bauvoranfrage\">") !=
        std::string::npos);
  // Names are escaped: no markup from metadata reaches the page.
  CHECK(b.find("<script") == std::string::npos);
  CHECK(b.find("&lt;script&gt;alert(1)&lt;/script&gt; Böse &amp; Co &quot;quoted&quot;") !=
        std::string::npos);
  // Language switch keeps the state.
  CHECK(b.find("<a href=\"/saml/discovery?lang=en&amp;return_to=%2Fportal%2Fbauvoranfrage\" lang=\"en\" "
               "hreflang=\"en\">English</a>") != std::string::npos);
  CHECK(b.find("role=\"status\"") != std::string::npos);

  // CSP: no external resources; the inline style allowed by its hash.
  const std::string csp = std::string(r.header("Content-Security-Policy").value_or(""));
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("style-src 'sha256-" + sha256_b64(style_content(b)) + "'") != std::string::npos);
  CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(csp.find("base-uri 'none'") != std::string::npos);
  CHECK(csp.find("form-action 'self' https://idp.") != std::string::npos);
  CHECK(csp.find(" https://idp.thueringen.example") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);

  const HttpResponse en = d->handle(get("/saml/discovery", "lang=en"));
  REQUIRE(en.status == 200);
  CHECK(en.body.find("<html lang=\"en\">") != std::string::npos);
  CHECK(en.body.find("<h1>Which user account do you want to log in with?</h1>") != std::string::npos);
  CHECK(en.body.find("<label for=\"remember\">Remember my choice</label>") != std::string::npos);
  CHECK(en.body.find("<label for=\"q\">Search for a user account</label>") != std::string::npos);
  CHECK(en.body.find("lang=\"de\" hreflang=\"de\">Deutsch</a>") != std::string::npos);
  // A name only available in German is marked as German on the English page.
  CHECK(en.body.find("<span lang=\"de\">BayernID München</span>") != std::string::npos);
  CHECK(en.body.find("<input type=\"hidden\" name=\"lang\" value=\"en\">") != std::string::npos);
}

TEST_CASE("discovery page: search results and the status region", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const HttpResponse r = d->handle(get("/saml/discovery", "q=thuer"));
  REQUIRE(r.status == 200);
  CHECK(count(r.body, "name=\"idp\"") == 1);
  CHECK(r.body.find("Servicekonto Thüringen") != std::string::npos);
  CHECK(r.body.find("value=\"thuer\"") != std::string::npos);
  CHECK(r.body.find("<p class=\"status\" role=\"status\">1 Nutzerkonto gefunden.</p>") != std::string::npos);
  CHECK(r.body.find(">Alle Nutzerkonten anzeigen</a>") != std::string::npos);

  const HttpResponse none = d->handle(get("/saml/discovery", "q=%3Cb%3Ebrandenburg"));
  REQUIRE(none.status == 200);
  CHECK(none.body.find("name=\"idp\"") == std::string::npos);
  CHECK(
      none.body.find(
          "<p class=\"status\" role=\"status\">Kein Nutzerkonto gefunden für „&lt;b&gt;brandenburg“.</p>") !=
      std::string::npos);

  // An empty federation says so.
  const auto empty = f.make({});
  const HttpResponse e = empty->handle(get("/saml/discovery"));
  REQUIRE(e.status == 200);
  CHECK(e.body.find(
            "<p class=\"status\" role=\"status\">Derzeit werden hier keine Nutzerkonten angeboten.</p>") !=
        std::string::npos);
  CHECK(e.body.find("<ul") == std::string::npos);
}

TEST_CASE("discovery JSON feed", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const HttpResponse r = d->handle(get("/saml/discovery/idps.json", "lang=en&q=m%C3%BC"));
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type") == "application/json; charset=utf-8");
  const auto j = nlohmann::json::parse(r.body);
  CHECK(j.at("lang") == "en");
  REQUIRE(j.at("idps").size() == 1);
  const auto &e = j.at("idps").at(0);
  CHECK(e.at("entityID") == kBayern);
  CHECK(e.at("displayName") == "BayernID München");
  CHECK(e.at("logo").at("url") == "data:image/png;base64,iVBORw0KGgo=");
  CHECK(e.at("logo").at("width") == 16);
  CHECK(e.at("logo").at("height") == 16);

  const auto all = nlohmann::json::parse(d->handle(get("/saml/discovery/idps.json")).body);
  CHECK(all.at("lang") == "de");
  REQUIRE(all.at("idps").size() == 5);
  for (const auto &i : all.at("idps"))
    if (i.at("entityID") == kNrw) CHECK(i.at("logo").is_null());
  // The escaped name survives as data.
  CHECK(all.at("idps").at(0).at("displayName") == "<script>alert(1)</script> Böse & Co \"quoted\"");
}

TEST_CASE("discovery choose: redirect to the login and the remembered-choice cookie", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const HttpResponse r =
      d->handle(post("/saml/discovery/choose",
                     "lang=de&return_to=%2Fportal%3Fa%3D1&idp=" + url_encode(kBayern) + "&remember=1"));
  REQUIRE(r.status == 303);
  CHECK(r.header("Location") ==
        "/saml/login?idp=" + url_encode(kBayern) + "&return_to=" + url_encode("/portal?a=1"));
  const auto cookies = set_cookies(r);
  REQUIRE(cookies.size() == 1);
  const std::string &c = cookies.front();
  CHECK(c.starts_with("interkonto_idp="));
  CHECK(c.find("; Path=/") != std::string::npos);
  CHECK(c.find("; Max-Age=7776000") != std::string::npos);
  CHECK(c.find("; SameSite=Lax") != std::string::npos);
  CHECK(c.find("; HttpOnly") != std::string::npos);
  CHECK(c.find("; Secure") != std::string::npos);
  // value = base64url(entityID) "." expiry "." base64url(HMAC)
  const std::string value = cookie_pair(c).substr(std::string("interkonto_idp=").size());
  const auto expiry =
      std::chrono::duration_cast<std::chrono::seconds>(t0().time_since_epoch()).count() + 7776000;
  CHECK(value.starts_with(base64url_encode_nopad(kBayern) + "." + std::to_string(expiry) + "."));

  // The cookie is honoured: remembered and preselected.
  const HttpRequest later = with_cookie(get("/saml/login"), cookie_pair(c));
  CHECK(d->remembered_idp(later) == std::optional<std::string>(kBayern));
  CHECK(d->preselected_idp(later) == std::optional<std::string>(kBayern));
  // The page shows the box ticked.
  const HttpResponse page = d->handle(with_cookie(get("/saml/discovery"), cookie_pair(c)));
  CHECK(page.body.find("name=\"remember\" value=\"1\" checked>") != std::string::npos);

  // Without remember: no cookie; an earlier choice is forgotten.
  const HttpResponse plain = d->handle(post("/saml/discovery/choose", "idp=" + url_encode(kNrw)));
  REQUIRE(plain.status == 303);
  CHECK(plain.header("Location") == "/saml/login?idp=" + url_encode(kNrw));
  CHECK(set_cookies(plain).empty());
  const HttpResponse forget =
      d->handle(with_cookie(post("/saml/discovery/choose", "idp=" + url_encode(kNrw)), cookie_pair(c)));
  REQUIRE(set_cookies(forget).size() == 1);
  CHECK(set_cookies(forget).front().find("Max-Age=0") != std::string::npos);

  // GET works too (links in custom front ends).
  const HttpResponse g = d->handle(get("/saml/discovery/choose", "idp=" + url_encode(kNrw)));
  CHECK(g.status == 303);
}

TEST_CASE("discovery choose: unknown IdP or foreign return_to is refused", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const HttpResponse unknown =
      d->handle(post("/saml/discovery/choose", "idp=https%3A%2F%2Fevil.example%2Fidp"));
  CHECK(unknown.status == 400);
  CHECK(!unknown.header("Location"));
  CHECK(unknown.body.find("<code>unknown_idp</code>") != std::string::npos);
  CHECK(unknown.body.find("<html lang=\"de\">") != std::string::npos);
  // An SP is not an IdP to choose.
  CHECK(d->handle(post("/saml/discovery/choose", "idp=" + url_encode(kSp))).status == 400);
  CHECK(d->handle(post("/saml/discovery/choose", "")).status == 400);

  for (const char *rt : {"https://evil.example/", "//evil.example/x", "/\\evil.example", "/a\r\nSet-Cookie:x",
                         "/a b", "javascript:alert(1)"}) {
    CAPTURE(rt);
    const HttpResponse r =
        d->handle(post("/saml/discovery/choose", "idp=" + url_encode(kNrw) + "&return_to=" + url_encode(rt)));
    CHECK(r.status == 400);
    CHECK(!r.header("Location"));
    CHECK(r.body.find("bad_return_to") != std::string::npos);
  }
  // On the page as well.
  CHECK(d->handle(get("/saml/discovery", "return_to=https%3A%2F%2Fevil.example%2F")).status == 400);
  // A malformed escape is bad input, not a crash.
  CHECK(d->handle(post("/saml/discovery/choose", "idp=%zz")).status == 400);
}

TEST_CASE("discovery cookie: tampered, expired, or no longer offered", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const std::string good = remember_cookie(*d, kThueringen);
  REQUIRE(d->remembered_idp(with_cookie(get("/x"), good)) == std::optional<std::string>(kThueringen));

  SECTION("tampered: nullopt, and the page explains and clears it") {
    std::string bad = good;
    char &m = bad[bad.size() - 10]; // a character inside the MAC
    m = m == 'A' ? 'B' : 'A';
    // Another entityID with the old MAC.
    const std::string eq_pos = good.substr(0, good.find('=') + 1);
    const std::string rest = good.substr(good.find('.'));
    const std::string swapped = eq_pos + base64url_encode_nopad(kBayern) + rest;
    for (const std::string &c : {bad, swapped, std::string("interkonto_idp=garbage"),
                                 std::string("interkonto_idp=a.b.c"), std::string("interkonto_idp=..")}) {
      CAPTURE(c);
      CHECK(!d->remembered_idp(with_cookie(get("/x"), c)));
      CHECK(!d->preselected_idp(with_cookie(get("/x"), c)));
      const HttpResponse r = d->handle(with_cookie(get("/saml/discovery", "lang=en&q=th"), c));
      CHECK(r.status == 400);
      CHECK(!r.header("Location"));
      CHECK(r.body.find("<html lang=\"en\">") != std::string::npos);
      CHECK(r.body.find("tampered_cookie") != std::string::npos);
      CHECK(r.body.find("<a href=\"/saml/discovery?lang=en&amp;q=th\">") != std::string::npos);
      const auto sc = set_cookies(r);
      REQUIRE(sc.size() == 1);
      CHECK(sc.front().starts_with("interkonto_idp=;"));
      CHECK(sc.front().find("Max-Age=0") != std::string::npos);
    }
  }
  SECTION("an emptied cookie counts as none") {
    const HttpResponse r = d->handle(with_cookie(get("/saml/discovery"), "interkonto_idp="));
    CHECK(r.status == 200);
    CHECK(set_cookies(r).empty());
  }
  SECTION("expired: ignored and cleared") {
    f.clock->advance(std::chrono::duration_cast<std::chrono::milliseconds>(f.config.remember_for) + 1s);
    CHECK(!d->remembered_idp(with_cookie(get("/x"), good)));
    const HttpResponse r = d->handle(with_cookie(get("/saml/discovery"), good));
    CHECK(r.status == 200);
    REQUIRE(set_cookies(r).size() == 1);
    CHECK(set_cookies(r).front().find("Max-Age=0") != std::string::npos);
  }
  SECTION("valid just before expiry") {
    f.clock->advance(std::chrono::duration_cast<std::chrono::milliseconds>(f.config.remember_for) - 1s);
    CHECK(d->remembered_idp(with_cookie(get("/x"), good)) == std::optional<std::string>(kThueringen));
  }
  SECTION("IdP no longer offered: ignored and cleared") {
    const auto smaller = f.make(entities_without(kThueringen));
    CHECK(!smaller->remembered_idp(with_cookie(get("/x"), good)));
    const HttpResponse r = smaller->handle(with_cookie(get("/saml/discovery"), good));
    CHECK(r.status == 200);
    REQUIRE(set_cookies(r).size() == 1);
    CHECK(set_cookies(r).front().find("Max-Age=0") != std::string::npos);
    // Filtered out counts as not offered too.
    Fixture g;
    g.config.filter.exclude = {kThueringen};
    CHECK(!g.make()->remembered_idp(with_cookie(get("/x"), good)));
  }
  SECTION("another secret does not accept it") {
    Fixture g;
    g.config.cookie_secret = std::string(40, 'k');
    CHECK(!g.make()->remembered_idp(with_cookie(get("/x"), good)));
  }
}

TEST_CASE("discovery IdP hint and preselection", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  CHECK(d->preselected_idp(get("/saml/login", "idp=" + url_encode(kNrw))) ==
        std::optional<std::string>(kNrw));
  CHECK(!d->preselected_idp(get("/saml/login", "idp=https%3A%2F%2Funknown.example%2F")));
  CHECK(!d->preselected_idp(get("/saml/login", "idp=" + url_encode(kSp))));
  CHECK(!d->preselected_idp(get("/saml/login")));
  // The hint wins over the remembered choice.
  const std::string c = remember_cookie(*d, kBayern);
  CHECK(d->preselected_idp(with_cookie(get("/saml/login", "idp=" + url_encode(kNrw)), c)) ==
        std::optional<std::string>(kNrw));
  CHECK(d->preselected_idp(with_cookie(get("/saml/login"), c)) == std::optional<std::string>(kBayern));

  // On the page, a valid hint skips it; an unknown one shows it.
  const HttpResponse skip = d->handle(get("/saml/discovery", "return_to=%2Fp&idp=" + url_encode(kNrw)));
  CHECK(skip.status == 303);
  CHECK(skip.header("Location") == "/saml/login?idp=" + url_encode(kNrw) + "&return_to=%2Fp");
  CHECK(d->handle(get("/saml/discovery", "idp=https%3A%2F%2Funknown.example%2F")).status == 200);

  CHECK(d->page_url("/portal?x=1") == "/saml/discovery?return_to=%2Fportal%3Fx%3D1");
  CHECK(d->page_url("/p", "en") == "/saml/discovery?lang=en&return_to=%2Fp");
  CHECK(d->page_url("") == "/saml/discovery");
}

TEST_CASE("SAMLDS service: return URL listed in metadata", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const HttpResponse page = d->handle(get("/saml/discovery", ds_query(kReturn, "&returnIDParam=idp")));
  REQUIRE(page.status == 200);
  CHECK(page.body.find("<input type=\"hidden\" name=\"entityID\" value=\"https://sp.example/sp\">") !=
        std::string::npos);
  CHECK(page.body.find("<input type=\"hidden\" name=\"return\" value=\"https://sp.example/ds-response\">") !=
        std::string::npos);
  CHECK(page.body.find("<input type=\"hidden\" name=\"returnIDParam\" value=\"idp\">") != std::string::npos);
  const std::string csp = std::string(page.header("Content-Security-Policy").value_or(""));
  CHECK(csp.find("form-action 'self' https://sp.example;") != std::string::npos);

  const HttpResponse chosen = d->handle(
      post("/saml/discovery/choose", ds_query(kReturn, "&returnIDParam=idp&idp=" + url_encode(kThueringen))));
  REQUIRE(chosen.status == 303);
  CHECK(chosen.header("Location") == std::string(kReturn) + "?idp=" + url_encode(kThueringen));

  // Default returnIDParam, and a return URL with its own query.
  const HttpResponse q =
      d->handle(post("/saml/discovery/choose",
                     ds_query(std::string(kReturn) + "?state=abc", "&idp=" + url_encode(kThueringen))));
  REQUIRE(q.status == 303);
  CHECK(q.header("Location") == std::string(kReturn) + "?state=abc&entityID=" + url_encode(kThueringen));

  // The choice of an IdP not offered is still refused.
  const HttpResponse bad =
      d->handle(post("/saml/discovery/choose", ds_query(kReturn, "&idp=" + url_encode(kSp))));
  CHECK(bad.status == 400);
  CHECK(!bad.header("Location"));
}

TEST_CASE("SAMLDS service: return URL not in metadata is refused", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  for (const std::string ret :
       {"https://evil.example/ds-response", "https://sp.example/other", "https://sp.example/ds-response.evil",
        "https://sp.example/ds-response/", "https://sp.example@evil.example/ds-response",
        "https://evil.example/?https://sp.example/ds-response", "https://sp.example/ds-response#frag",
        "https://sp.example/ds-response\\@evil", "HTTPS://SP.EXAMPLE/DS-RESPONSE", "",
        "javascript:alert(1)"}) {
    CAPTURE(ret);
    const HttpResponse page = d->handle(get("/saml/discovery", ds_query(ret)));
    CHECK(page.status == 400);
    CHECK(!page.header("Location"));
    CHECK(page.body.find("return_not_listed") != std::string::npos);
    const HttpResponse passive = d->handle(get("/saml/discovery", ds_query(ret, "&isPassive=true")));
    CHECK(passive.status == 400);
    CHECK(!passive.header("Location"));
    const HttpResponse chosen =
        d->handle(post("/saml/discovery/choose", ds_query(ret, "&idp=" + url_encode(kThueringen))));
    CHECK(chosen.status == 400);
    CHECK(!chosen.header("Location"));
  }
  // An SP without DiscoveryResponse endpoints has no valid return at all.
  const HttpResponse other = d->handle(
      get("/saml/discovery", "entityID=" + url_encode(kSpNoDisco) + "&return=" + url_encode(kReturn)));
  CHECK(other.status == 400);
  CHECK(!other.header("Location"));
}

TEST_CASE("SAMLDS service: unknown SP and bad parameters", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const HttpResponse unknown = d->handle(
      get("/saml/discovery", "entityID=https%3A%2F%2Fnobody.example%2Fsp&return=" + url_encode(kReturn)));
  CHECK(unknown.status == 400);
  CHECK(unknown.body.find("unknown_sp") != std::string::npos);
  // An IdP is not an SP.
  CHECK(d->handle(get("/saml/discovery", "entityID=" + url_encode(kNrw) + "&return=" + url_encode(kReturn)))
            .status == 400);
  // Half a SAMLDS request.
  CHECK(d->handle(get("/saml/discovery", "entityID=" + url_encode(kSp))).status == 400);
  CHECK(d->handle(get("/saml/discovery", "return=" + url_encode(kReturn))).status == 400);
  // returnIDParam must be a safe token; isPassive a boolean; only the single policy.
  CHECK(d->handle(get("/saml/discovery", ds_query(kReturn, "&returnIDParam=a%26b%3Dc"))).status == 400);
  CHECK(d->handle(get("/saml/discovery", ds_query(kReturn, "&isPassive=maybe"))).status == 400);
  CHECK(d->handle(get("/saml/discovery", ds_query(kReturn, "&policy=urn%3Aother"))).status == 400);
  CHECK(d->handle(get("/saml/discovery",
                      ds_query(kReturn, "&policy=" + url_encode("urn:oasis:names:tc:SAML:profiles:SSO:"
                                                                "idp-discovery-protocol:single"))))
            .status == 200);

  // allowed_sps restricts the SPs served.
  f.config.allowed_sps = {"https://someone-else.example/sp"};
  const HttpResponse not_allowed = f.make()->handle(get("/saml/discovery", ds_query(kReturn)));
  CHECK(not_allowed.status == 400);
  CHECK(not_allowed.body.find("unknown_sp") != std::string::npos);
  f.config.allowed_sps = {kSp};
  CHECK(f.make()->handle(get("/saml/discovery", ds_query(kReturn))).status == 200);
}

TEST_CASE("SAMLDS service: isPassive", "[discovery]") {
  Fixture f;
  const auto d = f.make();
  const HttpResponse none = d->handle(get("/saml/discovery", ds_query(kReturn, "&isPassive=true")));
  REQUIRE(none.status == 303);
  CHECK(none.header("Location") == std::string(kReturn));
  CHECK(none.body.empty());

  const std::string c = remember_cookie(*d, kBayern);
  const HttpResponse remembered =
      d->handle(with_cookie(get("/saml/discovery", ds_query(kReturn, "&isPassive=true&returnIDParam=x")), c));
  REQUIRE(remembered.status == 303);
  CHECK(remembered.header("Location") == std::string(kReturn) + "?x=" + url_encode(kBayern));

  // isPassive=false shows the page.
  CHECK(d->handle(get("/saml/discovery", ds_query(kReturn, "&isPassive=false"))).status == 200);
  // A tampered cookie on a passive request: back without an IdP, cookie cleared.
  const HttpResponse tampered =
      d->handle(with_cookie(get("/saml/discovery", ds_query(kReturn, "&isPassive=true")), c + "x"));
  REQUIRE(tampered.status == 303);
  CHECK(tampered.header("Location") == std::string(kReturn));
  REQUIRE(set_cookies(tampered).size() == 1);
  CHECK(set_cookies(tampered).front().find("Max-Age=0") != std::string::npos);
}

TEST_CASE("SAMLDS client: external_discovery_url", "[discovery]") {
  CHECK(external_discovery_url("https://ds.example/ds", "https://sp.example/sp",
                               "https://sp.example/ds-response") ==
        "https://ds.example/"
        "ds?entityID=https%3A%2F%2Fsp.example%2Fsp&return=https%3A%2F%2Fsp.example%2Fds-response");
  CHECK(external_discovery_url("https://ds.example/ds?x=1", "urn:sp", "https://sp.example/r?s=1&t=2", "idp",
                               true) ==
        "https://ds.example/ds?x=1&entityID=urn%3Asp&return=https%3A%2F%2Fsp.example%2Fr%3Fs%3D1%26t%3D2"
        "&returnIDParam=idp&isPassive=true");
  CHECK(code_of([] { external_discovery_url("", "urn:sp", "https://sp/r"); }) == ErrorCode::config_invalid);
  CHECK(code_of([] { external_discovery_url("https://ds/", "urn:sp", "https://sp/r", "a&b"); }) ==
        ErrorCode::config_invalid);
}

TEST_CASE("discovery: over-long input, unknown routes, methods, no metadata", "[discovery]") {
  Fixture f;
  f.config.max_query = 256;
  const auto d = f.make();
  const HttpResponse longq = d->handle(get("/saml/discovery", "q=" + std::string(300, 'a')));
  CHECK(longq.status == 400);
  CHECK(longq.body.find("too_long") != std::string::npos);
  CHECK(longq.header("Content-Type") == "text/html; charset=utf-8");
  const HttpResponse longbody =
      d->handle(post("/saml/discovery/choose", "idp=" + url_encode(kNrw) + "&x=" + std::string(300, 'a')));
  CHECK(longbody.status == 400);
  CHECK(!longbody.header("Location"));
  CHECK(d->handle(get("/saml/discovery/idps.json", "q=" + std::string(300, 'a'))).status == 400);
  // Search text over 200 bytes, within max_query.
  CHECK(d->handle(get("/saml/discovery", "q=" + std::string(210, 'b'))).status == 400);

  const HttpResponse nf = d->handle(get("/saml/discovery/nothing"));
  CHECK(nf.status == 404);
  CHECK(nf.body.find("<html lang=\"de\">") != std::string::npos);
  CHECK(d->handle(get("/saml/discoveryx")).status == 404);
  CHECK(d->handle(get("/saml/discovery/")).status == 404);

  HttpRequest put = get("/saml/discovery");
  put.method = "PUT";
  const HttpResponse m = d->handle(put);
  CHECK(m.status == 405);
  CHECK(m.header("Allow") == "GET, HEAD");

  // A provider without a usable snapshot: 503 pages, empty list, nothing preselected.
  auto provider = std::make_shared<MetadataProvider>(
      std::make_unique<FileSource>("/nonexistent/interkonto-discovery.xml"), ProviderConfig{});
  const Discovery nometa(provider, base_config());
  const HttpResponse u = nometa.handle(get("/saml/discovery"));
  CHECK(u.status == 503);
  CHECK(u.body.find("Die Liste der Nutzerkonten ist derzeit nicht verfügbar") != std::string::npos);
  CHECK(nometa.handle(get("/saml/discovery/idps.json")).status == 503);
  CHECK(nometa.handle(post("/saml/discovery/choose", "idp=" + url_encode(kNrw))).status == 503);
  CHECK(nometa.list("de").empty());
  CHECK(!nometa.preselected_idp(get("/saml/login", "idp=" + url_encode(kNrw))));
}

TEST_CASE("discovery configuration and operator template", "[discovery]") {
  Fixture f;
  SECTION("cookie secret: empty disables remembering, short is refused") {
    f.config.cookie_secret = "short";
    CHECK(code_of([&] { f.make(); }) == ErrorCode::config_invalid);
    f.config.cookie_secret.clear();
    const auto d = f.make();
    const HttpResponse page = d->handle(get("/saml/discovery"));
    CHECK(page.body.find("id=\"remember\"") == std::string::npos);
    const HttpResponse r =
        d->handle(post("/saml/discovery/choose", "idp=" + url_encode(kNrw) + "&remember=1"));
    CHECK(r.status == 303);
    CHECK(set_cookies(r).empty());
  }
  SECTION("development_insecure_http drops Secure") {
    f.config.development_insecure_http = true;
    const auto d = f.make();
    const HttpResponse r =
        d->handle(post("/saml/discovery/choose", "idp=" + url_encode(kNrw) + "&remember=1"));
    REQUIRE(set_cookies(r).size() == 1);
    CHECK(set_cookies(r).front().find("Secure") == std::string::npos);
  }
  SECTION("paths") {
    f.config.page_path = "relative";
    CHECK(code_of([&] { f.make(); }) == ErrorCode::config_invalid);
    f.config.page_path = "/ds";
    f.config.login_path = "https://elsewhere.example/login";
    CHECK(code_of([&] { f.make(); }) == ErrorCode::config_invalid);
    f.config.login_path = "/login?from=ds";
    const auto d = f.make();
    CHECK(d->handle(get("/ds/choose", "idp=" + url_encode(kNrw))).header("Location") ==
          "/login?from=ds&idp=" + url_encode(kNrw));
    CHECK(d->handle(get("/ds/idps.json")).status == 200);
  }
  SECTION("an operator template is used; its style is allowed by hash") {
    const std::string css = "body{color:#111111}";
    f.config.template_path =
        temp_file("ok.html", "<!DOCTYPE html><html lang=\"{{lang}}\"><head><title>{{title}}"
                             "</title><style>" +
                                 css +
                                 "</style></head><body><main><h1>"
                                 "{{heading}}</h1>{{results}}</main></body></html>");
    const auto d = f.make();
    const HttpResponse r = d->handle(get("/saml/discovery", "lang=en"));
    REQUIRE(r.status == 200);
    CHECK(r.body.starts_with("<!DOCTYPE html><html lang=\"en\"><head><title>Which user account"));
    CHECK(r.body.find("name=\"idp\"") != std::string::npos);
    const std::string csp = std::string(r.header("Content-Security-Policy").value_or(""));
    CHECK(csp.find("style-src 'sha256-" + sha256_b64(css) + "'") != std::string::npos);
    std::remove(f.config.template_path.c_str());
  }
  SECTION("templates that cannot work are refused at construction") {
    f.config.template_path = "/nonexistent/interkonto-discovery-template.html";
    CHECK(code_of([&] { f.make(); }) == ErrorCode::config_invalid);
    f.config.template_path = temp_file("noresults.html", "<html lang=\"{{lang}}\"><main></main></html>");
    CHECK(code_of([&] { f.make(); }) == ErrorCode::config_invalid);
    std::remove(f.config.template_path.c_str());
    f.config.template_path = temp_file("typo.html", "<html lang=\"{{lnag}}\">{{results}}</html>");
    std::string detail;
    CHECK(code_of([&] { f.make(); }, &detail) == ErrorCode::config_invalid);
    CHECK(detail.find("{{lnag}}") != std::string::npos);
    std::remove(f.config.template_path.c_str());
  }
}

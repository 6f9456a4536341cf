// SPDX-License-Identifier: EUPL-1.2
// The Clara journey in-process (no sockets, no browser): the four SAML
// parties of examples/clara (Servicekonto.NRW, Servicekonto Hamburg,
// Servicekonto Thüringen, the Thüringen portal) with their metadata in one
// signed aggregate, each reading it through its own MetadataProvider, and a
// tiny browser (cookie jar per site with Path and SameSite, redirects,
// auto-POST forms) that routes each request to the party by its base URL.
// A failure here points at the parties or the library, not at the web
// server or the browser of the real-browser tests.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "clara/parties.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/clock.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/metadata_provider.hpp"
#include "interkonto/session.hpp"
#include "unit/saml_browser.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"

using namespace interkonto;
namespace fs = std::filesystem;

namespace {

constexpr const char *kFink = "https://127.0.0.2:8443";
constexpr const char *kNrwBase = "https://127.0.0.3:8443";
constexpr const char *kHhBase = "https://127.0.0.4:8443";
constexpr const char *kSkBase = "https://127.0.0.5:8443";
constexpr const char *kPortalBase = "https://127.0.0.6:8443";

Credential party_key(int index, const std::string &cn) {
  return test::self_signed_cert(test::rsa_key(2048, 90 + index), cn);
}

// ------------------------------------------------------------------ HTML

using test::html_unescape;

// Attributes of one start tag ("<input id=\"a\" value=\"b\">").
std::map<std::string, std::string> tag_attributes(std::string_view tag) {
  std::map<std::string, std::string> out;
  std::size_t i = tag.find_first_of(" \t\n");
  while (i != std::string_view::npos && i < tag.size()) {
    i = tag.find_first_not_of(" \t\n/>", i);
    if (i == std::string_view::npos) break;
    const std::size_t name_end = tag.find_first_of("= \t\n>", i);
    if (name_end == std::string_view::npos) break;
    std::string name(tag.substr(i, name_end - i));
    if (name_end < tag.size() && tag[name_end] == '=' && name_end + 1 < tag.size() &&
        tag[name_end + 1] == '"') {
      const std::size_t end = tag.find('"', name_end + 2);
      out[name] = html_unescape(std::string(tag.substr(name_end + 2, end - name_end - 2)));
      i = end + 1;
    } else {
      out[name] = "";
      i = name_end;
    }
  }
  return out;
}

struct Form {
  std::string action;
  std::vector<std::pair<std::string, std::string>> fields; // what a browser sends (without buttons)
  std::vector<std::pair<std::string, std::string>> buttons;
};

std::vector<Form> forms_of(const std::string &html) {
  std::vector<Form> out;
  for (auto pos = html.find("<form"); pos != std::string::npos; pos = html.find("<form", pos + 1)) {
    const auto tag_end = html.find('>', pos);
    const auto end = html.find("</form>", pos);
    REQUIRE(tag_end != std::string::npos);
    REQUIRE(end != std::string::npos);
    const auto attrs = tag_attributes(std::string_view(html).substr(pos, tag_end - pos + 1));
    if (attrs.count("method") == 0 || attrs.at("method") != "post") continue;
    Form f;
    f.action = attrs.count("action") != 0 ? attrs.at("action") : "";
    const std::string body = html.substr(tag_end + 1, end - tag_end - 1);
    for (const char *kind : {"<input", "<button", "<textarea"}) {
      for (auto p = body.find(kind); p != std::string::npos; p = body.find(kind, p + 1)) {
        const auto te = body.find('>', p);
        auto a = tag_attributes(std::string_view(body).substr(p, te - p + 1));
        if (a.count("name") == 0) continue;
        const std::string type = a.count("type") != 0 ? a.at("type") : "";
        if (std::string(kind) == "<button") {
          f.buttons.emplace_back(a.at("name"), a.count("value") != 0 ? a.at("value") : "");
        } else if (std::string(kind) == "<textarea") {
          f.fields.emplace_back(a.at("name"),
                                html_unescape(body.substr(te + 1, body.find("</textarea>", te) - te - 1)));
        } else if (type != "checkbox" || a.count("checked") != 0) {
          f.fields.emplace_back(a.at("name"), a.count("value") != 0 ? a.at("value") : "");
        }
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

// Value of the input with this id (nullopt: no such input).
std::optional<std::string> input_value(const std::string &html, const std::string &id) {
  const auto p = html.find("<input id=\"" + id + "\"");
  if (p == std::string::npos) return std::nullopt;
  const auto a = tag_attributes(std::string_view(html).substr(p, html.find('>', p) - p + 1));
  return a.count("value") != 0 ? a.at("value") : "";
}

// Text content of the element with this id (tags inside are removed).
std::optional<std::string> text_of(const std::string &html, const std::string &id) {
  const auto p = html.find("id=\"" + id + "\"");
  if (p == std::string::npos) return std::nullopt;
  const auto start = html.find('>', p) + 1;
  const auto tag_start = html.rfind('<', p);
  const auto name_end = html.find_first_of(" >", tag_start);
  const std::string close = "</" + html.substr(tag_start + 1, name_end - tag_start - 1) + ">";
  std::string inner = html.substr(start, html.find(close, start) - start);
  std::string text;
  bool in_tag = false;
  for (char ch : inner) {
    if (ch == '<') in_tag = true;
    if (!in_tag) text += ch;
    if (ch == '>') in_tag = false;
  }
  return html_unescape(text);
}

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

// ----------------------------------------------------------------- world

using Handler = std::function<HttpResponse(const HttpRequest &)>;

struct World {
  std::shared_ptr<FixedClock> clock = std::make_shared<FixedClock>(test::base_time());
  fs::path dir = fs::temp_directory_path() / ("clara-journey-" + random_id());
  fs::path aggregate_path = dir / "fink-aggregate.xml";
  const Credential fink = party_key(0, "FINK federation operator (test)");
  clara::Common nrw_c =
      common(kNrwBase, "Servicekonto.NRW", "Servicekonto.NRW", party_key(1, "Servicekonto.NRW"));
  clara::Common hh_c = common(kHhBase, "Servicekonto Hamburg", "Hamburg service account",
                              party_key(2, "Servicekonto Hamburg"));
  clara::Common sk_c = common(kSkBase, "Servicekonto Thüringen", "Thuringia service account",
                              party_key(3, "Servicekonto Thüringen"));
  clara::Common portal_c =
      common(kPortalBase, "Thüringen-Portal", "Thuringia portal", party_key(4, "Thüringen-Portal"));
  std::vector<std::shared_ptr<MetadataProvider>> providers;
  std::unique_ptr<clara::AccountIdp> nrw, hh;
  std::unique_ptr<clara::Servicekonto> sk;
  std::unique_ptr<clara::Portal> portal;
  std::map<std::string, Handler> sites;
  std::vector<std::string> log_lines;

  static clara::Common common(const char *base, const char *name, const char *name_en,
                              const Credential &key) {
    return clara::Common{.base_url = base, .display_name = name, .display_name_en = name_en, .saml = key};
  }

  // usable: the aggregate file exists and every party's provider loaded it.
  explicit World(bool usable = true) {
    fs::create_directories(dir);
    portal_c.encryption = party_key(5, "Thüringen-Portal Verschlüsselung");
    if (usable) write_aggregate(test::base_time());
    for (clara::Common *c : {&nrw_c, &hh_c, &sk_c, &portal_c}) {
      ProviderConfig pc;
      pc.trust.pinned_keys = {fink.certificate->public_key()};
      auto p = std::make_shared<MetadataProvider>(std::make_unique<FileSource>(aggregate_path.string()), pc,
                                                  clock);
      CHECK(p->initialize() == usable);
      providers.push_back(p);
      c->federation = p;
      c->clock = clock;
      c->log = [this](LogLevel, std::string_view m) { log_lines.emplace_back(m); };
    }
    nrw = std::make_unique<clara::AccountIdp>(nrw_c, clara::nrw_users());
    hh = std::make_unique<clara::AccountIdp>(hh_c, clara::hamburg_users());
    sk = std::make_unique<clara::Servicekonto>(
        sk_c, std::vector<std::string>{clara::sp_entity_id(kPortalBase)}, std::string(32, 'd'));
    portal = std::make_unique<clara::Portal>(portal_c, clara::idp_entity_id(kSkBase), 3);
    sites[kNrwBase] = [this](const HttpRequest &r) { return nrw->handle(r); };
    sites[kHhBase] = [this](const HttpRequest &r) { return hh->handle(r); };
    sites[kSkBase] = [this](const HttpRequest &r) { return sk->handle(r); };
    sites[kPortalBase] = [this](const HttpRequest &r) { return portal->handle(r); };
  }
  ~World() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  World(const World &) = delete;
  World &operator=(const World &) = delete;

  // What the setup script does: every party's metadata in one signed aggregate.
  void write_aggregate(TimePoint now) {
    MetadataSignOptions o{.key = fink.key,
                          .certificate = fink.certificate,
                          .signature_method = std::string(alg::rsa_pss_sha256),
                          .valid_for = std::chrono::hours(24 * 7),
                          .cache_duration = std::chrono::hours(1),
                          .name = "urn:fink:clara-demo",
                          .now = now};
    const std::string xml =
        sign_aggregate({clara::AccountIdp::metadata_xml(nrw_c), clara::AccountIdp::metadata_xml(hh_c),
                        clara::Servicekonto::metadata_xml(sk_c), clara::Portal::metadata_xml(portal_c)},
                       o);
    const fs::path tmp = dir / "fink-aggregate.xml.tmp";
    std::ofstream(tmp, std::ios::binary) << xml;
    fs::rename(tmp, aggregate_path);
  }
};

// ---------------------------------------------------------------- browser

struct Cookie {
  std::string value;
  std::string path = "/";
  std::string same_site = "Lax";
};

std::string origin_of(const std::string &url) {
  const auto p = url.find('/', url.find("://") + 3);
  return p == std::string::npos ? url : url.substr(0, p);
}

struct Browser {
  World &w;
  std::map<std::string, std::map<std::string, Cookie>> jars; // by origin
  std::string url;                                           // of the page shown
  HttpResponse page;
  std::vector<std::string> visited;             // every URL requested, in order
  std::string last_portal_acs_body;             // the last SAMLResponse POST to the portal
  std::map<std::string, std::string> last_post; // the last POST body by URL (without query)

  explicit Browser(World &world) : w(world) {}

  std::string absolute(const std::string &location, const std::string &base_origin) const {
    if (location.starts_with("https://") || location.starts_with("http://")) return location;
    REQUIRE(location.starts_with("/"));
    return base_origin + location;
  }

  void take_cookies(const std::string &origin, const HttpResponse &r) {
    for (const auto &[n, v] : r.headers) {
      if (n != "Set-Cookie") continue;
      const std::string pair = v.substr(0, v.find(';'));
      const auto eq = pair.find('=');
      const std::string name = pair.substr(0, eq);
      Cookie c;
      c.value = eq == std::string::npos ? "" : pair.substr(eq + 1);
      if (const auto p = v.find("Path="); p != std::string::npos)
        c.path = v.substr(p + 5, v.find(';', p) - p - 5);
      if (const auto p = v.find("SameSite="); p != std::string::npos)
        c.same_site = v.substr(p + 9, v.find(';', p) - p - 9);
      if (c.value.empty() || contains(v, "Max-Age=0"))
        jars[origin].erase(name);
      else
        jars[origin][name] = c;
    }
  }

  // One request, cookies chosen as a browser would: Path prefix, and
  // SameSite (a cross-site POST carries only SameSite=None cookies).
  HttpResponse send(const std::string &method, const std::string &target, const std::string &body,
                    const std::string &initiator) {
    visited.push_back(method + " " + target);
    const std::string origin = origin_of(target);
    const auto site = w.sites.find(origin);
    REQUIRE(site != w.sites.end());
    HttpRequest req;
    req.method = method;
    std::string rest = target.substr(origin.size());
    if (rest.empty()) rest = "/";
    const auto q = rest.find('?');
    req.path = rest.substr(0, q);
    if (q != std::string::npos) req.raw_query = rest.substr(q + 1);
    const bool same_site = initiator.empty() || initiator == origin;
    std::string cookie_header;
    for (const auto &[name, c] : jars[origin]) {
      const bool path_ok = c.path == "/" || req.path == c.path || req.path.starts_with(c.path + "/");
      if (!path_ok) continue;
      if (!same_site && c.same_site == "Strict") continue;
      if (!same_site && method == "POST" && c.same_site != "None") continue;
      cookie_header += (cookie_header.empty() ? "" : "; ") + name + "=" + c.value;
    }
    if (!cookie_header.empty()) req.headers.emplace_back("Cookie", cookie_header);
    if (method == "POST") {
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      req.body = body;
      if (origin == kPortalBase && req.path == "/sp/acs") last_portal_acs_body = body;
      last_post[origin + req.path] = body;
    }
    HttpResponse r = site->second(req);
    take_cookies(origin, r);
    return r;
  }

  static bool auto_post(const HttpResponse &r) {
    return r.status == 200 && contains(r.body, "<script>") &&
           (contains(r.body, "name=\"SAMLResponse\"") || contains(r.body, "name=\"SAMLRequest\""));
  }

  // Follows redirects and auto-submitting SAML forms until a page for people.
  const HttpResponse &follow(HttpResponse r, std::string at, const std::string &initiator) {
    for (int hops = 0; hops < 30; ++hops) {
      if (r.status == 302 || r.status == 303) {
        const auto loc = r.header("Location");
        REQUIRE(loc);
        at = absolute(std::string(*loc), origin_of(at));
        r = send("GET", at, "", initiator);
        continue;
      }
      if (auto_post(r)) {
        const auto fs_ = forms_of(r.body);
        REQUIRE(fs_.size() == 1);
        const std::string page_origin = origin_of(at);
        at = absolute(fs_.front().action, page_origin);
        r = send("POST", at, encode(fs_.front().fields), page_origin);
        continue;
      }
      url = at;
      page = std::move(r);
      return page;
    }
    FAIL("too many redirects");
    return page;
  }

  static std::string encode(const std::vector<std::pair<std::string, std::string>> &fields) {
    std::string body;
    for (const auto &[n, v] : fields) body += (body.empty() ? "" : "&") + url_encode(n) + "=" + url_encode(v);
    return body;
  }

  // Types a URL.
  const HttpResponse &go(const std::string &target) {
    return follow(send("GET", target, "", ""), target, "");
  }

  // Submits the form of the current page whose action is `action`, with
  // `fields` changed and the button `button` (name, value) pressed.
  const HttpResponse &submit(const std::string &action, const std::map<std::string, std::string> &fields,
                             std::optional<std::pair<std::string, std::string>> button = std::nullopt) {
    const auto all = forms_of(page.body);
    const Form *f = nullptr;
    for (const auto &x : all)
      if (x.action == action) f = &x;
    INFO(page.body);
    REQUIRE(f != nullptr);
    auto values = f->fields;
    for (auto &[n, v] : values)
      if (const auto it = fields.find(n); it != fields.end()) v = it->second;
    for (const auto &[n, v] : fields)
      if (std::none_of(values.begin(), values.end(), [&](const auto &p) { return p.first == n; }))
        values.emplace_back(n, v);
    if (button) {
      REQUIRE(std::find(f->buttons.begin(), f->buttons.end(), *button) != f->buttons.end());
      values.push_back(*button);
    }
    const std::string page_origin = origin_of(url);
    const std::string target = absolute(f->action, page_origin);
    return follow(send("POST", target, encode(values), page_origin), target, page_origin);
  }

  // From the portal to the NRW or Hamburg login form, through the choice page.
  void to_login(const std::string &account_base) {
    go(std::string(kPortalBase) + "/bauvoranfrage");
    REQUIRE(page.status == 200);
    REQUIRE(url.starts_with(std::string(kSkBase) + "/proxy/discovery?"));
    CHECK(contains(page.body, "Servicekonto.NRW"));
    CHECK(contains(page.body, "Servicekonto Hamburg"));
    CHECK_FALSE(contains(page.body, clara::idp_entity_id(kSkBase))); // not itself
    submit("/proxy/discovery/choose", {},
           std::make_pair(std::string("idp"), clara::idp_entity_id(account_base)));
    REQUIRE(page.status == 200);
    REQUIRE(url.starts_with(account_base + "/idp/sso?"));
  }

  void log_in(const std::string &user, const std::string &password) {
    submit("/idp/login", {{"username", user}, {"password", password}});
  }
};

void check_page_basics(const HttpResponse &r) {
  CHECK(contains(r.body, "<html lang=\"de\">"));
  CHECK(contains(r.body, "<main"));
  CHECK(contains(r.body, "<h1>"));
  CHECK(r.header("Content-Security-Policy").has_value());
  CHECK(r.header("Cache-Control") == std::optional<std::string_view>("no-store"));
  CHECK_FALSE(contains(r.body, "http://")); // no external resources
  CHECK_FALSE(contains(r.body, "<script")); // no JavaScript on pages for people
}

} // namespace

TEST_CASE("clara journey: the parties' metadata", "[clara]") {
  World w;
  const SnapshotPtr snap = w.providers.front()->snapshot();
  REQUIRE(snap);
  CHECK(snap->entities().size() == 5);
  const EntityPtr nrw = snap->find(clara::idp_entity_id(kNrwBase));
  REQUIRE(nrw);
  REQUIRE(nrw->idp);
  CHECK(nrw->display_name("de") == "Servicekonto.NRW");
  CHECK(nrw->idp->sso_endpoint(binding::redirect)->location == std::string(kNrwBase) + "/idp/sso");
  CHECK(nrw->idp->signing_keys().size() == 1);
  CHECK(nrw->idp->signing_methods == std::vector<std::string>{std::string(alg::rsa_pss_sha256)});
  const EntityPtr hh = snap->find(clara::idp_entity_id(kHhBase));
  REQUIRE(hh);
  CHECK(hh->display_name("en") == "Hamburg service account");
  const EntityPtr sk_sp = snap->find(clara::sp_entity_id(kSkBase));
  REQUIRE(sk_sp);
  REQUIRE(sk_sp->sp);
  CHECK(sk_sp->sp->acs_endpoint(std::nullopt)->location == std::string(kSkBase) + "/sp/acs");
  REQUIRE(snap->find(clara::idp_entity_id(kSkBase)));
  const EntityPtr portal = snap->find(clara::sp_entity_id(kPortalBase));
  REQUIRE(portal);
  REQUIRE(portal->sp);
  const auto enc = portal->sp->encryption_keys();
  REQUIRE(enc.size() == 1);
  CHECK(enc.front()->key() == w.portal_c.encryption->certificate->public_key());
  CHECK(enc.front()->encryption_methods.front().algorithm == alg::aes256_gcm);
  REQUIRE(portal->attribute_consuming_services.size() == 1);
  CHECK(portal->attribute_consuming_services.front().requested.size() == 8);
  // The parties serve the same documents.
  HttpRequest r;
  r.path = "/idp/metadata";
  CHECK(w.nrw->handle(r).body == clara::AccountIdp::metadata_xml(w.nrw_c));
  r.path = "/sp/metadata";
  CHECK(w.portal->handle(r).body == clara::Portal::metadata_xml(w.portal_c));
}

TEST_CASE("clara journey: Clara files a Bauvoranfrage with her NRW account", "[clara]") {
  World w;
  Browser b(w);

  // The start page links to the service.
  b.go(std::string(kPortalBase) + "/");
  CHECK(b.page.status == 200);
  CHECK(contains(b.page.body, "href=\"/bauvoranfrage\""));
  check_page_basics(b.page);

  b.to_login(kNrwBase);
  check_page_basics(b.page);
  CHECK(contains(b.page.body, "<h1>Anmelden beim Servicekonto.NRW</h1>"));
  CHECK(contains(b.page.body, "<label for=\"username\">Benutzername</label><input id=\"username\" "
                              "name=\"username\" autocomplete=\"username\">"));
  CHECK(contains(b.page.body,
                 "<label for=\"password\">Passwort</label><input id=\"password\" name=\"password\" "
                 "type=\"password\" autocomplete=\"current-password\">"));
  CHECK(contains(b.page.body, "<button type=\"submit\">Anmelden</button>"));
  CHECK(text_of(b.page.body, "anfrage") ==
        std::optional<std::string>("Servicekonto Thüringen bittet um Ihre Anmeldung. Erforderliches "
                                   "Vertrauensniveau: substanziell."));

  // Wrong password first: the form again with the message.
  b.log_in("clara", "falsch");
  CHECK(b.page.status == 200);
  CHECK(contains(b.page.body, "<p role=\"alert\">Benutzername oder Passwort ist falsch.</p>"));
  CHECK(b.url.starts_with(kNrwBase));

  // Right password: the consent page lists what NRW will release.
  b.log_in("clara", "clara-nrw");
  REQUIRE(b.page.status == 200);
  check_page_basics(b.page);
  const auto attributes = text_of(b.page.body, "attributes");
  REQUIRE(attributes);
  for (const char *s :
       {"Vorname Clara", "Nachname Schmidt", "Geburtsdatum 12.04.1990", "Straße und Hausnummer Königsallee 1",
        "Postleitzahl 40212", "Ort Düsseldorf", "Land Deutschland", "Vertrauensniveau substanziell"})
    CHECK(contains(*attributes, s));
  CHECK_FALSE(contains(*attributes, "bPK2")); // the portal did not ask for it
  CHECK(contains(b.page.body, "<button name=\"decision\" value=\"consent\">Zustimmen und weiter</button>"));
  CHECK(contains(b.page.body, "<button name=\"decision\" value=\"cancel\">Abbrechen</button>"));
  // Post/Redirect/Get: the consent page has a URL of its own (Back re-fetches it).
  CHECK(b.url.starts_with(std::string(kNrwBase) + "/idp/consent?vorgang="));

  // Consent: NRW -> Servicekonto Thüringen -> portal -> the form, filled in.
  const HttpResponse consent_page = b.page;
  const std::string consent_url = b.url;
  b.submit("/idp/consent", {}, std::make_pair(std::string("decision"), std::string("consent")));
  INFO(b.page.body);
  REQUIRE(b.page.status == 200);
  CHECK(b.url == std::string(kPortalBase) + "/bauvoranfrage");
  check_page_basics(b.page);
  CHECK(contains(b.page.body, "<h1>Bauvoranfrage</h1>"));
  CHECK(input_value(b.page.body, "vorname") == std::optional<std::string>("Clara"));
  CHECK(input_value(b.page.body, "nachname") == std::optional<std::string>("Schmidt"));
  CHECK(input_value(b.page.body, "geburtsdatum") == std::optional<std::string>("1990-04-12"));
  CHECK(contains(b.page.body,
                 "<input id=\"geburtsdatum\" name=\"geburtsdatum\" type=\"date\" value=\"1990-04-12\""));
  CHECK(input_value(b.page.body, "strasse") == std::optional<std::string>("Königsallee 1"));
  CHECK(input_value(b.page.body, "plz") == std::optional<std::string>("40212"));
  CHECK(input_value(b.page.body, "ort") == std::optional<std::string>("Düsseldorf"));
  for (const char *id : {"vorname", "nachname", "geburtsdatum", "strasse", "plz", "ort", "vorhaben"})
    CHECK(contains(b.page.body, fmt::format("<label for=\"{}\">", id)));
  CHECK(contains(b.page.body, "<p id=\"vertrauensniveau\">Vertrauensniveau: substanziell</p>"));
  CHECK(contains(b.page.body, "<p id=\"nutzerkonto\">Nutzerkonto: Servicekonto.NRW</p>"));

  // Both Responses were signed and encrypted with AES-GCM.
  for (const std::string &acs : {std::string(kSkBase) + "/sp/acs", std::string(kPortalBase) + "/sp/acs"}) {
    HttpRequest posted;
    posted.body = b.last_post[acs];
    const auto saml = posted.form_param("SAMLResponse");
    REQUIRE(saml);
    const std::string xml = post_decode(*saml);
    INFO(acs);
    CHECK(contains(xml, "EncryptedAssertion"));
    CHECK(contains(xml, std::string(alg::aes256_gcm)));
    CHECK_FALSE(contains(xml, "Schmidt"));
  }

  // The path the browser took.
  std::vector<std::string> origins;
  for (const auto &v : b.visited) {
    const std::string o = origin_of(v.substr(v.find(' ') + 1));
    if (origins.empty() || origins.back() != o) origins.push_back(o);
  }
  CHECK(origins == std::vector<std::string>{kPortalBase, kSkBase, kNrwBase, kSkBase, kPortalBase});

  SECTION("browser Back: the ACS POST again goes to the form, not to an error") {
    REQUIRE_FALSE(b.last_portal_acs_body.empty());
    const std::string acs = std::string(kPortalBase) + "/sp/acs";
    const HttpResponse again = b.send("POST", acs, b.last_portal_acs_body, kSkBase);
    CHECK(again.status == 303);
    CHECK(again.header("Location") == std::optional<std::string_view>("/bauvoranfrage"));
    // Another browser with the same POST gets the error page, not Clara's form.
    Browser other(w);
    const HttpResponse stolen = other.send("POST", acs, b.last_portal_acs_body, kSkBase);
    CHECK(stolen.status == 403);
    CHECK(contains(stolen.body, "<h1>Anmeldung nicht möglich</h1>"));
    CHECK_FALSE(contains(stolen.body, "Schmidt"));
  }
  SECTION("the Bauvoranfrage is filed") {
    b.submit("/bauvoranfrage", {{"vorhaben", "Anbau eines Wintergartens"}});
    CHECK(b.page.status == 200);
    CHECK(b.url == std::string(kPortalBase) + "/bauvoranfrage/eingegangen");
    CHECK(contains(b.page.body, "<h1>Ihre Bauvoranfrage ist eingegangen</h1>"));
    CHECK(text_of(b.page.body, "aktenzeichen") == std::optional<std::string>("Aktenzeichen: BV-000001"));
    check_page_basics(b.page);
  }
  SECTION("an empty Vorhaben is asked for again") {
    b.submit("/bauvoranfrage", {});
    CHECK(b.page.status == 200);
    CHECK(contains(b.page.body, "<p role=\"alert\">Bitte beschreiben Sie Ihr Vorhaben.</p>"));
    CHECK(input_value(b.page.body, "vorname") == std::optional<std::string>("Clara"));
  }
  SECTION("Back re-fetches the consent page: the login is over") {
    b.go(consent_url);
    CHECK(b.page.status == 400);
    CHECK(contains(b.page.body, "abgelaufen oder bereits abgeschlossen"));
  }
  SECTION("Back to the consent page and consent again: the login is over") {
    b.page = consent_page;
    b.url = consent_url;
    b.submit("/idp/consent", {}, std::make_pair(std::string("decision"), std::string("consent")));
    CHECK(b.page.status == 400);
    CHECK(b.url == std::string(kNrwBase) + "/idp/consent");
    CHECK(contains(b.page.body, "abgelaufen oder bereits abgeschlossen"));
  }
}

TEST_CASE("clara journey: Clara cancels at the consent page", "[clara]") {
  World w;
  Browser b(w);
  b.to_login(kNrwBase);
  b.log_in("clara", "clara-nrw");
  b.submit("/idp/consent", {}, std::make_pair(std::string("decision"), std::string("cancel")));
  INFO(b.page.body);
  CHECK(b.url == std::string(kPortalBase) + "/sp/acs");
  CHECK(b.page.status == 403);
  check_page_basics(b.page);
  CHECK(contains(b.page.body, "<h1>Anmeldung nicht möglich</h1>"));
  CHECK(text_of(b.page.body, "grund") ==
        std::optional<std::string>("Sie haben die Anmeldung abgebrochen oder sie ist fehlgeschlagen."));
  CHECK(contains(b.page.body, "<a href=\"/bauvoranfrage\">Erneut versuchen</a>"));
  CHECK_FALSE(contains(b.page.body, "Schmidt"));
  // Erneut versuchen: a new login starts (no session was opened).
  b.go(std::string(kPortalBase) + "/bauvoranfrage");
  CHECK(b.url.starts_with(std::string(kSkBase) + "/proxy/discovery?"));
}

TEST_CASE("clara journey: Max's account is below the level the service needs", "[clara]") {
  World w;
  Browser b(w);
  b.to_login(kNrwBase);
  b.log_in("max", "max-nrw");
  INFO(b.page.body);
  CHECK(b.url == std::string(kPortalBase) + "/sp/acs");
  CHECK(b.page.status == 403);
  CHECK(contains(b.page.body, "<h1>Anmeldung nicht möglich</h1>"));
  const auto why = text_of(b.page.body, "grund");
  REQUIRE(why);
  CHECK(contains(*why, "Vertrauensniveau Ihres Nutzerkontos ist für diesen Dienst zu niedrig"));
  CHECK(contains(*why, "„substanziell“"));
  CHECK(text_of(b.page.body, "fehlercode") == std::optional<std::string>("Fehlercode: NoAuthnContext"));
}

TEST_CASE("clara journey: Hanna chooses her Hamburg account", "[clara]") {
  World w;
  Browser b(w);
  b.to_login(kHhBase);
  CHECK(contains(b.page.body, "<h1>Anmelden beim Servicekonto Hamburg</h1>"));
  b.log_in("clara", "clara-nrw"); // Clara has no account in Hamburg
  CHECK(contains(b.page.body, "<p role=\"alert\">Benutzername oder Passwort ist falsch.</p>"));
  b.log_in("hanna", "hanna-hh");
  b.submit("/idp/consent", {}, std::make_pair(std::string("decision"), std::string("consent")));
  INFO(b.page.body);
  CHECK(b.url == std::string(kPortalBase) + "/bauvoranfrage");
  CHECK(input_value(b.page.body, "vorname") == std::optional<std::string>("Hanna"));
  CHECK(input_value(b.page.body, "ort") == std::optional<std::string>("Hamburg"));
  CHECK(contains(b.page.body, "<p id=\"nutzerkonto\">Nutzerkonto: Servicekonto Hamburg</p>"));
}

TEST_CASE("clara journey: a metadata refresh in the middle of a login", "[clara]") {
  World w;
  Browser b(w);
  b.go(std::string(kPortalBase) + "/bauvoranfrage");
  REQUIRE(b.url.starts_with(std::string(kSkBase) + "/proxy/discovery?"));
  // A new aggregate arrives; every party rebuilds on its next request.
  w.clock->advance(std::chrono::minutes(1));
  w.write_aggregate(w.clock->now());
  const SnapshotPtr before = w.providers[2]->snapshot();
  for (const auto &p : w.providers) REQUIRE(p->refresh_now());
  CHECK(w.providers[2]->snapshot() != before);
  b.submit("/proxy/discovery/choose", {}, std::make_pair(std::string("idp"), clara::idp_entity_id(kNrwBase)));
  b.log_in("clara", "clara-nrw");
  b.submit("/idp/consent", {}, std::make_pair(std::string("decision"), std::string("consent")));
  INFO(b.page.body);
  CHECK(b.url == std::string(kPortalBase) + "/bauvoranfrage");
  CHECK(input_value(b.page.body, "nachname") == std::optional<std::string>("Schmidt"));
}

TEST_CASE("clara journey: without federation metadata every party says so", "[clara]") {
  World w(false); // no aggregate file, no backing file
  for (const auto &[base, handler] : w.sites) {
    for (const char *path : {"/", "/bauvoranfrage", "/idp/sso", "/sp/acs", "/proxy/discovery"}) {
      HttpRequest r;
      r.path = path;
      const HttpResponse out = handler(r);
      INFO(base << path);
      CHECK(out.status == 503);
      CHECK(contains(out.body, "Der Föderationsdienst (FINK) ist derzeit nicht erreichbar."));
      CHECK(contains(out.body, "wird automatisch erneut versucht"));
      CHECK(out.header("Retry-After").has_value());
      check_page_basics(out);
    }
  }
  // Once the aggregate is there and a provider retries, the party works.
  w.write_aggregate(w.clock->now());
  REQUIRE(w.providers[3]->refresh_now());
  HttpRequest r;
  r.path = "/";
  CHECK(w.portal->handle(r).status == 200);
}

// SPDX-License-Identifier: EUPL-1.2
#pragma once
// The Clara journey's parties, sans-I/O (one HttpRequest in, one
// HttpResponse out), built only on the public interkonto headers. The
// server binary (main.cpp) puts each behind cpp-httplib over HTTPS on its own
// loopback address; the in-process test (tests/integration/
// test_clara_journey.cpp) routes requests between them directly.
//
//   FINK metadata server  https://127.0.0.2:8443/  signed aggregate (+ MDQ)
//   Servicekonto.NRW      https://127.0.0.3:8443/  AccountIdp
//   Servicekonto Hamburg  https://127.0.0.4:8443/  AccountIdp
//   Servicekonto Thüringen https://127.0.0.5:8443/ Servicekonto (the proxy)
//   Thüringen portal      https://127.0.0.6:8443/  Portal ("Bauvoranfrage")
//
// Every party takes the federation's metadata from a MetadataProvider
// (the aggregate from the metadata server, verified against the pinned
// federation certificate, with a backing file). Without a usable snapshot a
// party answers with a page saying the federation is unavailable (503) and
// keeps retrying in the provider's background thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/log.hpp"
#include "interkonto/metadata_provider.hpp"

namespace clara {

// Entity IDs and paths, derived from a party's base URL ("https://127.0.0.3:8443").
//   IdP entityID:        base + "/idp"          SSO: base + "/idp/sso"      metadata: base + "/idp/metadata"
//   SP entityID:         base + "/sp"           ACS: base + "/sp/acs"       metadata: base + "/sp/metadata"
//   proxy discovery:     base + "/proxy/discovery", login step base + "/sp/login"
//   portal service page: base + "/bauvoranfrage"
std::string idp_entity_id(std::string_view base_url);
std::string sp_entity_id(std::string_view base_url);

// A demo account at an AccountIdp.
struct DemoUser {
  std::string username;
  std::string password;
  std::string stable_id; // never shown; keys pairwise NameIDs
  // Attributes in the Servicekonto OID vocabulary (Name, values, FriendlyName).
  std::vector<interkonto::AuthenticatedSubject::Attribute> attributes;
  std::string trust_level; // "STORK-QAA-Level-3", ...
};

// Clara (NRW, clara / clara-nrw, STORK-QAA-Level-3, the profile's attributes)
// and Max (NRW, max / max-nrw, STORK-QAA-Level-1: for "level too low").
std::vector<DemoUser> nrw_users();
// Hanna (Hamburg, hanna / hanna-hh, STORK-QAA-Level-3).
std::vector<DemoUser> hamburg_users();

// A party's configuration. Every member but `saml` has a default, so
// designated initializers (in this order) work:
//   clara::Common{.base_url = ..., .display_name = ..., .saml = key, .federation = provider}
struct Common {
  std::string base_url{};        // https://127.0.0.x:PORT (no trailing slash)
  std::string display_name{};    // e.g. "Servicekonto.NRW" (mdui:DisplayName xml:lang="de")
  std::string display_name_en{}; // mdui:DisplayName xml:lang="en"; empty: display_name
  // Signing key (with certificate) of the party's SAML roles; also its
  // encryption key unless `encryption` is set. RSA (>= 2048, PSS signatures)
  // or EC (ECDSA).
  interkonto::Credential saml;
  std::optional<interkonto::Credential> encryption{}; // separate encryption key (metadata use="encryption")
  // Needed by handle(), not by metadata_xml(): the federation's metadata
  // (nullptr or no snapshot: every page except the metadata documents is the
  // 503 "federation unavailable" page; the host runs the provider's
  // background thread, which keeps retrying).
  std::shared_ptr<const interkonto::MetadataProvider> federation{};
  bool development_insecure_http = false;           // plain-HTTP development switch (cookies without Secure)
  std::shared_ptr<const interkonto::Clock> clock{}; // nullptr: system clock
  interkonto::LogSink log{};                        // may be empty
};

// Every page for people: <html lang="de">, <header> with the party's name,
// <main id="inhalt"> starting with one <h1>, <footer>; no JavaScript (the
// library's auto-POST pages excepted), no external resources, one inline
// stylesheet allowed by hash in the Content-Security-Policy (form-action
// 'self'), Cache-Control: no-store. Error pages carry the reason in
// <p id="grund">. All parties are thread-safe (handle() may run concurrently).

// A Land's user account (Servicekonto.NRW, Servicekonto Hamburg) as IdP
// toward the federation's SPs (from the current snapshot; rebuilt when it
// changes). No login session: every AuthnRequest shows the login form.
//   GET  /                 start page
//   GET/POST /idp/sso      AuthnRequest (signed; Redirect or POST) -> login page (200);
//                          invalid request: 400 page; IsPassive: NoPassive error Response
//   POST /idp/login        vorgang, username, password. Wrong: the form again (200) with
//                          <p role="alert">Benutzername oder Passwort ist falsch.</p>
//                          (5th wrong attempt: AuthnFailed error Response). Right, but the
//                          account's level is below the requested one: NoAuthnContext error
//                          Response (auto-POST, no consent page). Right: the consent page.
//   POST /idp/consent      vorgang, decision=consent -> auto-POST Response (signed, AES-GCM
//                          encrypted); decision=cancel -> Responder/AuthnFailed error Response
//   POST /idp/cancel       vorgang ("Anmeldung abbrechen" on the login page) -> AuthnFailed
//   GET  /idp/metadata     metadata_xml()
// A login ("vorgang", hidden field) is bound to the browser by the cookie
// konto_browser (HttpOnly, SameSite=Lax, Path=/idp), lives 15 minutes and is
// used once: Back + a second consent ends on a 400 page (<h1>Anmeldung
// abgelaufen</h1>).
// Login page: <h1>Anmelden beim {display_name}</h1>, <p id="anfrage">{SP} bittet um
// Ihre Anmeldung. Erforderliches Vertrauensniveau: substanziell.</p>, labelled
// inputs #username / #password, <button type="submit">Anmelden</button>.
// Consent page: <h1>Einwilligung zur Datenübermittlung</h1>, <ul id="attributes">
// with one <li><span class="label">Vorname</span> <span class="value">Clara</span></li>
// per released attribute (only those the request asked for; birthdate as
// 12.04.1990, country DE as Deutschland, level as its German word), and the
// buttons <button name="decision" value="consent">Zustimmen und weiter</button>,
// <button name="decision" value="cancel">Abbrechen</button>.
class AccountIdp {
public:
  AccountIdp(Common common, std::vector<DemoUser> users);
  ~AccountIdp();
  interkonto::HttpResponse handle(const interkonto::HttpRequest &req) const;
  // The party's EntityDescriptor (IdP role, mdui:DisplayName de/en,
  // signing and encryption keys, SSO Redirect + POST), for the aggregate.
  static std::string metadata_xml(const Common &common);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Servicekonto Thüringen: the IdP/SP proxy (interkonto::Proxy) with
// discovery over the federation's IdPs (its own IdP excluded). Its portals
// are the SP entities of the federation whose entityID is listed in
// `portals` (empty: every SP but its own SP side); they may receive
// givenName, surname, birthdate, postalAddress, postalCode, localityName,
// country and trustLevel. The Proxy is rebuilt when the snapshot changes;
// logins in flight survive (shared stores).
//   GET  /                                 start page
//   GET/POST /idp/sso                      portals' AuthnRequests -> 303 to the choice page
//   GET  /proxy/discovery (and below)      "Mit welchem Nutzerkonto möchten Sie sich anmelden?"
//                                          (library page; POST /proxy/discovery/choose, button name="idp"
//                                          value=<IdP entityID>, label = its display name)
//   GET  /sp/login                         -> 302 to the chosen Servicekonto
//   POST /sp/acs                           upstream Response -> auto-POST to the portal (success or
//                                          SAML error); replayed: 4xx page
//   GET  /idp/metadata, /sp/metadata       the two EntityDescriptors of metadata_xml()
// `discovery_cookie_secret`: HMAC key of the remembered choice (>= 32 bytes; shorter: random).
class Servicekonto {
public:
  Servicekonto(Common common, std::vector<std::string> portals, std::string discovery_cookie_secret);
  ~Servicekonto();
  interkonto::HttpResponse handle(const interkonto::HttpRequest &req) const;
  // Two EntityDescriptors (IdP side, SP side) in one EntitiesDescriptor.
  static std::string metadata_xml(const Common &common);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The Thüringen portal: /bauvoranfrage requires a login through
// Servicekonto Thüringen with trust level minimum `min_trust_level`
// (STORK 3 = "substanziell"), asking for its attributes with the AKDB
// extension, then shows the Bauvoranfrage form with name, address and date
// of birth filled in, the trust level and the home account. Errors end on a
// clear page at the portal (4xx, never 500).
//   GET  /                           start page, link <a href="/bauvoranfrage">Bauvoranfrage stellen</a>
//   GET  /bauvoranfrage              no session: 302 to Servicekonto Thüringen; with one: the form:
//        <h1>Bauvoranfrage</h1>, <p id="vertrauensniveau">Vertrauensniveau: substanziell</p>
//        (1 untergeordnet, 2 niedrig, 3 substanziell, 4 hoch), <p id="nutzerkonto">Nutzerkonto:
//        Servicekonto.NRW</p> (display name of the AuthenticatingAuthority), labelled inputs
//        #vorname #nachname #geburtsdatum (type=date, value 1990-04-12) #strasse #plz #ort,
//        textarea #vorhaben, <button type="submit">Bauvoranfrage absenden</button>, and an
//        "Abmelden" button (POST /abmelden)
//   POST /bauvoranfrage              vorhaben empty: the form again with <p role="alert">Bitte
//                                    beschreiben Sie Ihr Vorhaben.</p>; else 303 to
//   GET  /bauvoranfrage/eingegangen  <h1>Ihre Bauvoranfrage ist eingegangen</h1>,
//                                    <p id="aktenzeichen">Aktenzeichen: BV-000001</p>
//   POST /sp/acs                     success: 303 /bauvoranfrage; a repeated POST (Back) of a
//                                    browser with a session: 303 /bauvoranfrage; failure: 403
//                                    (400 for a malformed POST) <h1>Anmeldung nicht möglich</h1>,
//                                    <p id="grund">reason</p>, <p id="fehlercode">Fehlercode:
//                                    <code>AuthnFailed</code></p>, <a href="/bauvoranfrage">Erneut
//                                    versuchen</a>. Reasons: AuthnFailed "Sie haben die Anmeldung
//                                    abgebrochen oder sie ist fehlgeschlagen."; NoAuthnContext "Das
//                                    Vertrauensniveau Ihres Nutzerkontos ist für diesen Dienst zu
//                                    niedrig. Die Bauvoranfrage erfordert mindestens das
//                                    Vertrauensniveau „substanziell“."
//   POST /abmelden                   local logout, 303 /
//   GET  /sp/login, /sp/metadata
class Portal {
public:
  Portal(Common common, std::string servicekonto_idp_entity_id, int min_trust_level = 3);
  ~Portal();
  interkonto::HttpResponse handle(const interkonto::HttpRequest &req) const;
  // The SP EntityDescriptor (mdui:DisplayName, keys, ACS, AttributeConsumingService).
  static std::string metadata_xml(const Common &common);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace clara

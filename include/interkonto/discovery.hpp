// SPDX-License-Identifier: EUPL-1.2
#pragma once
// IdP discovery: "Mit welchem Nutzerkonto möchten Sie sich anmelden?"
// The list of IdPs comes from metadata (a provider's current snapshot or a
// fixed list); display names in de/en with fallbacks, mdui logos, a search
// that ignores case and folds umlauts; a remembered choice (signed cookie,
// checked against metadata on use); an IdP hint that skips the page; the
// SAML IdP Discovery Protocol as a service and as a client. The page is
// server-rendered HTML that works without JavaScript (WCAG 2.1 AA), from an
// operator-replaceable template; a JSON feed serves custom front ends.
// Sans-I/O: handle() maps an HttpRequest to an HttpResponse.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/http.hpp"
#include "interkonto/log.hpp"
#include "interkonto/metadata.hpp"

namespace interkonto {

class MetadataProvider;

struct DiscoveryEntry {
  std::string entity_id;
  std::string display_name; // in the requested language, with fallbacks
  std::string logo_url;     // https (or data:) logo from mdui, may be empty
  unsigned logo_width = 0;
  unsigned logo_height = 0;
};

// Lower-case, umlauts and ß folded (ä→ae, ö→oe, ü→ue, ß→ss), other Latin
// diacritics stripped: "Thüringen" → "thueringen", "MÜNCHEN" → "muenchen".
std::string fold_for_search(std::string_view text);

struct DiscoveryConfig {
  // Routes (paths relative to the host):
  //   page_path                 the choice page (GET; query: lang, q, return_to, and the SAMLDS parameters)
  //   page_path + "/idps.json"  the JSON feed (GET; query: lang, q)
  //   page_path + "/choose"     the choice itself (GET or POST form: idp, remember, return_to / SAMLDS state)
  std::string page_path = "/saml/discovery";
  // Where a chosen IdP continues in the embedded (non-SAMLDS) flow: this
  // URL (a local path, e.g. the SP's login path) + "?idp=<entityID>&return_to=<...>".
  std::string login_path = "/saml/login";

  std::string cookie_name = "interkonto_idp";
  std::chrono::seconds remember_for{std::chrono::hours(24 * 90)};
  std::string cookie_secret;              // HMAC-SHA256 key for the remembered choice; >= 32 bytes
  bool development_insecure_http = false; // drops `Secure` from the cookie

  EntityFilter filter;             // which IdPs are offered (role idp is implied)
  std::string template_path;       // operator template (see docs/discovery.md); empty: built-in
  std::size_t max_query = 4096;    // longer query strings are refused (400 page)
  std::string default_lang = "de"; // "de" or "en"
  // For the SAMLDS service: the SPs that may use it (their DiscoveryResponse
  // endpoints are the only allowed `return` URLs). Empty: any SP in metadata.
  std::vector<std::string> allowed_sps;
};

class Discovery {
public:
  // IdPs and SPs from the provider's current snapshot (nullptr snapshot:
  // the page says the federation is unavailable, HTTP 503).
  Discovery(std::shared_ptr<const MetadataProvider> provider, DiscoveryConfig config,
            std::shared_ptr<const Clock> clock = nullptr, LogSink log = nullptr);
  // A fixed set of entities (IdPs to offer; SPs for SAMLDS checks).
  Discovery(std::vector<EntityPtr> entities, DiscoveryConfig config,
            std::shared_ptr<const Clock> clock = nullptr, LogSink log = nullptr);
  ~Discovery();

  // IdPs offered, sorted by display name (locale-independent, folded), filtered by query.
  std::vector<DiscoveryEntry> list(std::string_view lang, std::string_view query = {}) const;

  // Serves page_path, page_path/idps.json and page_path/choose (404 else).
  // SAMLDS service: page_path?entityID=<SP>&return=<URL>[&returnIDParam=..][&isPassive=true]
  // — `return` must be a DiscoveryResponse of that SP in metadata, else an
  // error page; never a redirect to an unlisted place.
  HttpResponse handle(const HttpRequest &req) const;

  // The remembered IdP of this browser, if the cookie is valid (HMAC,
  // expiry) and the IdP is still offered. nullopt otherwise.
  std::optional<std::string> remembered_idp(const HttpRequest &req) const;

  // For an SP's login endpoint: the IdP to use without showing the page —
  // an `idp` hint parameter naming an offered IdP, else the remembered
  // choice — or nullopt (then redirect to page_url()).
  std::optional<std::string> preselected_idp(const HttpRequest &req) const;
  // The page URL (path + query) for a login that should continue to `return_to`.
  std::string page_url(std::string_view return_to, std::string_view lang = {}) const;
  // The configuration's page_path (the routes handle() serves start with it).
  const std::string &page_path() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// SAML IdP Discovery Protocol, client side: the URL that sends a browser to
// an external discovery service.
std::string external_discovery_url(std::string_view ds_url, std::string_view sp_entity_id,
                                   std::string_view return_url, std::string_view return_id_param = "entityID",
                                   bool is_passive = false);

} // namespace interkonto

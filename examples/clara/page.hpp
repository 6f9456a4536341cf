// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal to the Clara parties: the HTML page frame every party uses
// (German, accessible, no external resources, one inline stylesheet allowed
// by its hash in the Content-Security-Policy), cookies, small string helpers,
// the 503 page shown while the federation's metadata is unavailable and the
// other answers every party's handle() shares (error pages, metadata).

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interkonto/http.hpp"
#include "interkonto/log.hpp"
#include "interkonto/metadata.hpp"

namespace clara::detail {

// HTML-escapes text for element content and quoted attribute values.
std::string esc(std::string_view s);

struct Page {
  std::string party;   // the party's display name (shown in the header, part of the title)
  std::string title;   // <title> and usually the <h1>
  std::string content; // HTML inside <main> (starts with the <h1>)
  int status = 200;
};

// The full response: HTML5 page with lang="de", skip link, header/main/
// footer landmarks, inline CSS (allowed by hash), CSP (form-action 'self'),
// Cache-Control: no-store, nosniff, no-referrer.
interkonto::HttpResponse render(const Page &p);

// "Föderationsdienst nicht erreichbar" (HTTP 503, Retry-After).
interkonto::HttpResponse federation_unavailable(std::string_view party);

// An error page of `party`: <h1>title</h1> and the reason in <p id="grund">.
interkonto::HttpResponse problem(std::string_view party, int status, std::string_view title,
                                 std::string_view message);

// What a party's handle() answers after an exception: "Technischer Fehler"
// (HTTP 500); `log` (if set) gets "<who>: internal error: <what>" as an error.
interkonto::HttpResponse internal_error(std::string_view party, const interkonto::LogSink &log,
                                        std::string_view who, const std::exception &e);

// A party's SAML metadata document (Content-Type application/samlmetadata+xml).
interkonto::HttpResponse metadata_document(std::string xml);

// 303 See Other to a local path or absolute URL.
interkonto::HttpResponse see_other(std::string location);

// Set-Cookie value; `secure` false only with the development switch.
std::string cookie(std::string_view name, std::string_view value, std::string_view path, bool secure,
                   std::string_view same_site, std::optional<long> max_age_seconds = std::nullopt);

// Form parameter of a POST (nullopt on a malformed body instead of throwing).
std::optional<std::string> form(const interkonto::HttpRequest &req, std::string_view name);

// "1990-04-12" -> "12.04.1990"; anything else unchanged.
std::string german_date(std::string_view iso);

// German word of a STORK level: 1 untergeordnet, 2 niedrig, 3 substanziell, 4 hoch.
std::string_view trust_word(int stork_level);

// Display name (de) of an entity of the snapshot, else the entityID.
std::string display_name(const interkonto::MetadataSnapshot *snap, std::string_view entity_id,
                         bool prefer_idp);

// Extracts the host part of a base URL ("https://127.0.0.3:8443" -> "127.0.0.3").
std::string host_of(std::string_view base_url);

} // namespace clara::detail

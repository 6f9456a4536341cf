// SPDX-License-Identifier: EUPL-1.2
#pragma once
// An in-process SAML "browser" for tests, benchmarks and interop emitters
// that drive ServiceProvider / Proxy / IdentityProvider objects directly
// (no sockets): reading the auto-POST forms they answer with, carrying their
// cookies, following their redirects, and the small configurations those
// worlds share. Catch-free: a failed expectation throws std::runtime_error,
// so the helpers also serve the programs that are not Catch tests
// (tests/bench, tests/interop); a Catch test case fails on it as well.
//
//   interkonto::test::html_unescape(s)            what the library's HTML escaping undoes
//   interkonto::test::quoted_after(html, marker)  the unescaped "..." value after marker
//   interkonto::test::form_value(html, name)      value of <input name="NAME" value="...">
//   interkonto::test::form_action(html)           action of <form method="post" action="...">
//   interkonto::test::cookie_header(response)     "name=value; ..." of every Set-Cookie
//   interkonto::test::query_of(location)          the query of a URL (throws without one)
//   interkonto::test::redirect_query(r, prefix)   the query of a 302 to prefix?... (throws otherwise)
//   interkonto::test::get_request(path, query)    a GET request
//   interkonto::test::post_form(path, saml, rs, cookies)  an HTTP-POST binding form post
//   interkonto::test::idp_config(entity, sso, signing)    an IdpConfig with the test defaults
//   interkonto::test::cached_credential(index, cn)        a 2048-bit RSA credential, one per (index, cn)

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "interkonto/bindings.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "unit/test_keys.hpp"

namespace interkonto::test {

inline std::string html_unescape(std::string s) {
  const std::pair<const char *, const char *> table[] = {{"&quot;", "\""}, {"&#39;", "'"}, {"&#x27;", "'"},
                                                         {"&lt;", "<"},    {"&gt;", ">"},  {"&#x3D;", "="},
                                                         {"&#43;", "+"},   {"&amp;", "&"}};
  for (const auto &[from, to] : table) {
    const std::string f = from;
    for (auto pos = s.find(f); pos != std::string::npos; pos = s.find(f, pos)) {
      s.replace(pos, f.size(), to);
      pos += std::string(to).size();
    }
  }
  return s;
}

// The unescaped attribute value that follows `marker` (which ends with the
// opening quote) in html, up to the closing quote.
inline std::optional<std::string> quoted_after(const std::string &html, const std::string &marker) {
  const auto pos = html.find(marker);
  if (pos == std::string::npos) return std::nullopt;
  const auto start = pos + marker.size();
  const auto end = html.find('"', start);
  if (end == std::string::npos) return std::nullopt;
  return html_unescape(html.substr(start, end - start));
}

// Value of <input name="NAME" value="..."> in an auto-submit form page.
inline std::optional<std::string> form_value(const std::string &html, const std::string &name) {
  return quoted_after(html, "name=\"" + name + "\" value=\"");
}

// Action of the page's <form method="post" action="...">.
inline std::optional<std::string> form_action(const std::string &html) {
  return quoted_after(html, "<form method=\"post\" action=\"");
}

// "name=value; ..." of every Set-Cookie, joined for a Cookie header.
inline std::string cookie_header(const HttpResponse &r) {
  std::string out;
  for (const auto &[n, v] : r.headers)
    if (n == "Set-Cookie") {
      if (!out.empty()) out += "; ";
      out += v.substr(0, v.find(';'));
    }
  return out;
}

// The query of a redirect Location (after the '?'); throws if there is none.
inline std::string query_of(std::string_view location) {
  const auto q = location.find('?');
  if (q == std::string_view::npos)
    throw std::runtime_error("redirect without a query: " + std::string(location));
  return std::string(location.substr(q + 1));
}

// The query of r's Location, which must be a 302 to prefix + "?..."; throws otherwise.
inline std::string redirect_query(const HttpResponse &r, const std::string &prefix) {
  const auto location = r.header("Location");
  if (r.status != 302 || !location.has_value())
    throw std::runtime_error("expected a redirect, got status " + std::to_string(r.status));
  if (!location->starts_with(prefix + "?")) throw std::runtime_error("redirect to " + std::string(*location));
  return std::string(location->substr(location->find('?') + 1));
}

inline HttpRequest get_request(const std::string &path, const std::string &query) {
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.raw_query = query;
  return r;
}

// The browser's auto-POST of a SAMLResponse (HTTP-POST binding).
inline HttpRequest post_form(const std::string &path, const std::string &saml_response,
                             const std::string &relay_state, const std::string &cookies) {
  HttpRequest r;
  r.method = "POST";
  r.path = path;
  r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  if (!cookies.empty()) r.headers.emplace_back("Cookie", cookies);
  r.body = "SAMLResponse=" + url_encode(saml_response) + "&RelayState=" + url_encode(relay_state);
  return r;
}

// An IdP that requires signed requests, 180 s clock skew, 300 s assertions,
// no SPs yet and the default algorithm policy.
inline IdpConfig idp_config(const char *entity, const char *sso, const Credential &signing) {
  return IdpConfig{.entity_id = entity,
                   .sso_url = sso,
                   .signing = signing,
                   .sps = {},
                   .require_signed_requests = true,
                   .clock_skew = std::chrono::seconds{180},
                   .assertion_lifetime = std::chrono::seconds{300},
                   .policy = AlgorithmPolicy{}};
}

// A self-signed credential for the 2048-bit RSA key `index`, built once per
// (index, cn) for the whole program; thread-safe.
inline const Credential &cached_credential(int index, const std::string &cn) {
  static std::mutex mu;
  static std::map<std::pair<int, std::string>, Credential> cache;
  const std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find({index, cn});
  if (it == cache.end())
    it = cache.emplace(std::make_pair(index, cn), self_signed_cert(rsa_key(2048, index), cn)).first;
  return it->second;
}

} // namespace interkonto::test

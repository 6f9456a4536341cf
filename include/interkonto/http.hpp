// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Sans-I/O HTTP types: an adapter translates its server's request/response
// structs to these, and every protocol endpoint is a function of them.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace interkonto {

struct HttpRequest {
  std::string method = "GET";
  std::string path;      // without query, e.g. "/saml/acs"
  std::string raw_query; // exactly as received, without '?': signatures cover these bytes
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body; // application/x-www-form-urlencoded for POST bindings
  std::string remote_addr;

  // First header with that name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
  // Value of a cookie from the Cookie header(s), if any.
  std::optional<std::string> cookie(std::string_view name) const;
  // Decoded parameter from the query (first occurrence), if any.
  std::optional<std::string> query_param(std::string_view name) const;
  // Decoded parameter from a form body (first occurrence), if any.
  std::optional<std::string> form_param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const;
  void set_header(std::string name, std::string value);
  void add_header(std::string name, std::string value);
};

struct CookieOptions {
  std::string path = "/";
  std::string same_site = "Lax"; // "Lax", "Strict" or "None"
  bool secure = true;
  bool http_only = true;
  std::optional<long> max_age_seconds;
};

// "name=value; Path=/; Max-Age=..; Secure; HttpOnly; SameSite=Lax"
std::string make_set_cookie(std::string_view name, std::string_view value, const CookieOptions &opt);

} // namespace interkonto

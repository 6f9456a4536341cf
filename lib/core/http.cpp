// SPDX-License-Identifier: EUPL-1.2
// Sans-I/O HTTP request/response helpers and Set-Cookie formatting.

#include "interkonto/http.hpp"

#include <algorithm>

#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"

namespace interkonto {

namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::string_view> find_header(const std::vector<std::pair<std::string, std::string>> &headers,
                                            std::string_view name) {
  for (const auto &[n, v] : headers)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

// First parameter called `name` in an application/x-www-form-urlencoded
// string. Pairs whose name cannot be decoded cannot match and are skipped;
// a bad escape in the matching value is Error(malformed).
std::optional<std::string> find_param(std::string_view q, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= q.size()) {
    std::size_t amp = q.find('&', pos);
    if (amp == std::string_view::npos) amp = q.size();
    const std::string_view part = q.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    std::string decoded_name;
    try {
      decoded_name = url_decode(part.substr(0, eq), true);
    } catch (const Error &) {
      continue;
    }
    if (decoded_name != name) continue;
    if (eq == std::string_view::npos) return std::string();
    return url_decode(part.substr(eq + 1), true);
  }
  return std::nullopt;
}

// RFC 7230 tchar
bool is_token_char(char c) noexcept {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 6265 cookie-octet
bool is_cookie_octet(char c) noexcept {
  const auto b = static_cast<unsigned char>(c);
  return b == 0x21 || (b >= 0x23 && b <= 0x2B) || (b >= 0x2D && b <= 0x3A) || (b >= 0x3C && b <= 0x5B) ||
         (b >= 0x5D && b <= 0x7E);
}

void check_header_field(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
    throw Error(ErrorCode::internal, "HTTP header name is not a token");
  for (const char c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      throw Error(ErrorCode::internal, "HTTP header value contains CR, LF or NUL");
}

} // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  return find_header(headers, name);
}

std::optional<std::string> HttpRequest::cookie(std::string_view name) const {
  for (const auto &[n, v] : headers) {
    if (!iequals(n, "Cookie")) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      const std::size_t semi = rest.find(';');
      const std::string_view pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      const std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (trim(pair.substr(0, eq)) != name) continue;
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::optional<std::string> HttpRequest::query_param(std::string_view name) const {
  return find_param(raw_query, name);
}

std::optional<std::string> HttpRequest::form_param(std::string_view name) const {
  return find_param(body, name);
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  return find_header(headers, name);
}

void HttpResponse::set_header(std::string name, std::string value) {
  check_header_field(name, value);
  auto first =
      std::find_if(headers.begin(), headers.end(), [&](const auto &h) { return iequals(h.first, name); });
  if (first == headers.end()) {
    headers.emplace_back(std::move(name), std::move(value));
    return;
  }
  first->first = std::move(name);
  first->second = std::move(value);
  const std::string_view kept = first->first;
  headers.erase(
      std::remove_if(std::next(first), headers.end(), [&](const auto &h) { return iequals(h.first, kept); }),
      headers.end());
}

void HttpResponse::add_header(std::string name, std::string value) {
  check_header_field(name, value);
  headers.emplace_back(std::move(name), std::move(value));
}

std::string make_set_cookie(std::string_view name, std::string_view value, const CookieOptions &opt) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
    throw Error(ErrorCode::internal, "cookie name is not a token");
  if (!std::all_of(value.begin(), value.end(), is_cookie_octet))
    throw Error(ErrorCode::internal, "cookie value contains a byte not allowed in a cookie");
  for (const char c : opt.path) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f || c == ';')
      throw Error(ErrorCode::internal, "cookie path contains ';' or a control");
  }
  std::string out(name);
  out.push_back('=');
  out.append(value);
  if (!opt.path.empty()) {
    out.append("; Path=");
    out.append(opt.path);
  }
  if (opt.max_age_seconds) {
    out.append("; Max-Age=");
    out.append(std::to_string(std::max(0L, *opt.max_age_seconds)));
  }
  if (opt.secure) out.append("; Secure");
  if (opt.http_only) out.append("; HttpOnly");
  if (!opt.same_site.empty()) {
    std::string_view canonical;
    for (const std::string_view s :
         {std::string_view("Lax"), std::string_view("Strict"), std::string_view("None")})
      if (iequals(opt.same_site, s)) canonical = s;
    if (canonical.empty()) throw Error(ErrorCode::config_invalid, "SameSite must be Lax, Strict or None");
    // SameSite=None without Secure is refused by browsers; it is the caller's choice.
    out.append("; SameSite=");
    out.append(canonical);
  }
  return out;
}

} // namespace interkonto

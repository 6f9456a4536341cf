// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Between cpp-httplib and interkonto's sans-I/O HttpRequest/HttpResponse, for
// the examples and the browser-test servers. Header-only.

#include <httplib.h>

#include <cctype>
#include <string>
#include <string_view>

#include "interkonto/http.hpp"

namespace interkonto::examples {

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The request as interkonto sees it. The query is kept exactly as received
// (req.target is the request target): Redirect-binding signatures cover
// these bytes, and a decoded-and-re-encoded query would not verify.
inline HttpRequest to_interkonto(const httplib::Request &req) {
  HttpRequest out;
  out.method = req.method;
  out.path = req.path;
  const auto q = req.target.find('?');
  if (q != std::string::npos) out.raw_query = req.target.substr(q + 1);
  for (const auto &[name, value] : req.headers) out.headers.emplace_back(name, value);
  out.body = req.body;
  out.remote_addr = req.remote_addr;
  return out;
}

inline void from_interkonto(const HttpResponse &in, httplib::Response &res) {
  res.status = in.status;
  std::string content_type;
  for (const auto &[name, value] : in.headers) {
    if (iequals(name, "Content-Type"))
      content_type = value;
    else if (!iequals(name, "Content-Length"))
      res.set_header(name, value); // a multimap: several Set-Cookie stay
  }
  if (!content_type.empty())
    res.set_content(in.body, content_type);
  else
    res.body = in.body;
}

} // namespace interkonto::examples

// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Shared by the SimpleSAMLphp interop drivers (ours as SP, ours as IdP): the
// expected test user, a PASS/FAIL report, a bounded libcurl browser with a
// cookie jar, and just enough HTML parsing for SimpleSAMLphp's forms.

#include <curl/curl.h>
#include <fmt/core.h>

#include <cstddef>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"

namespace interkonto::interop {

inline constexpr int max_redirects = 10;

struct ExpectedAttribute {
  std::string_view name;
  std::string_view value;
};
inline constexpr ExpectedAttribute expected_attributes[] = {
    {"urn:oid:2.5.4.42", "Clara"},
    {"urn:oid:2.5.4.4", "Schmidt"},
    {"urn:oid:1.2.40.0.10.2.1.1.55", "1990-04-12"},
    {"urn:oid:2.5.4.7", "D\xC3\xBC"
                        "sseldorf"},
    {"urn:oid:1.2.40.0.10.2.1.1.261.94", "STORK-QAA-Level-3"},
};

// ---- reporting ----

class Report {
public:
  explicit Report(std::string scenario) : scenario_(std::move(scenario)) {}

  bool check(bool ok, std::string_view what, std::string_view detail = {}) {
    if (ok) {
      ++passed_;
      fmt::print("PASS {}: {}\n", scenario_, what);
    } else {
      ++failed_;
      if (detail.empty())
        fmt::print("FAIL {}: {}\n", scenario_, what);
      else
        fmt::print("FAIL {}: {}: {}\n", scenario_, what, detail);
    }
    std::fflush(stdout);
    return ok;
  }
  void note(std::string_view text) const {
    fmt::print("  {}: {}\n", scenario_, text);
    std::fflush(stdout);
  }
  int failed() const { return failed_; }

private:
  std::string scenario_;
  int passed_ = 0;
  int failed_ = 0;
};

// A check whose failure makes the rest of the flow meaningless.
struct Abort : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string shorten(std::string_view s, std::size_t n = 600) {
  if (s.size() <= n) return std::string(s);
  return std::string(s.substr(0, n)) + "...";
}

inline bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
inline bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// ---- a small browser on libcurl ----

struct CurlGlobal {
  CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal &) = delete;
  CurlGlobal &operator=(const CurlGlobal &) = delete;
};

struct CurlDeleter {
  void operator()(CURL *c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist *l) const noexcept { curl_slist_free_all(l); }
};

inline std::size_t append_body(char *data, std::size_t size, std::size_t count, void *user_data) {
  auto *out = static_cast<std::string *>(user_data);
  const std::size_t n = size * count;
  constexpr std::size_t limit = 4 * 1024 * 1024;
  if (out->size() + n > limit) return 0; // aborts the transfer
  out->append(data, n);
  return n;
}

struct Page {
  long status = 0;
  std::string url; // after redirects
  std::string body;
  std::optional<std::string> location; // a redirect not followed (stop_at)
};

class Browser {
public:
  Browser() : curl_(curl_easy_init()) {
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
    CURL *c = curl_.get();
    set(curl_easy_setopt(c, CURLOPT_COOKIEFILE, "")); // in-memory cookie jar
    set(curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L));
    set(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L));
    set(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L)); // redirects are followed here, checked
    set(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http"));
    set(curl_easy_setopt(c, CURLOPT_PROXY, ""));
    set(curl_easy_setopt(c, CURLOPT_NOPROXY, "*"));
    set(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(c, CURLOPT_USERAGENT, "interkonto-interop-driver"));
    set(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body));
  }

  // Redirects to a URL starting with `stop_at` are not followed: the page
  // is returned with `location` set (our IdP does not listen on its port).
  Page get(std::string url, std::string_view stop_at = {}) {
    return run(std::move(url), std::nullopt, stop_at);
  }
  Page post_form(std::string url, std::string body, std::string_view stop_at = {}) {
    return run(std::move(url), std::move(body), stop_at);
  }

private:
  static void set(CURLcode rc) {
    if (rc != CURLE_OK) throw std::runtime_error(fmt::format("curl_easy_setopt: {}", curl_easy_strerror(rc)));
  }

  static void require_loopback(std::string_view url) {
    if (!starts_with(url, "http://127.0.0.1:"))
      throw Abort(fmt::format("refusing to leave loopback: {}", shorten(url, 200)));
  }

  Page run(std::string url, std::optional<std::string> post_body, std::string_view stop_at) {
    CURL *c = curl_.get();
    for (int hop = 0; hop <= max_redirects; ++hop) {
      require_loopback(url);
      Page page;
      std::unique_ptr<curl_slist, SlistDeleter> headers;
      set(curl_easy_setopt(c, CURLOPT_URL, url.c_str()));
      set(curl_easy_setopt(c, CURLOPT_WRITEDATA, &page.body));
      if (post_body) {
        headers.reset(curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded"));
        set(curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body->c_str()));
        set(curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size())));
        set(curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()));
      } else {
        set(curl_easy_setopt(c, CURLOPT_HTTPGET, 1L));
        set(curl_easy_setopt(c, CURLOPT_HTTPHEADER, static_cast<curl_slist *>(nullptr)));
      }
      const CURLcode rc = curl_easy_perform(c);
      set(curl_easy_setopt(c, CURLOPT_HTTPHEADER, static_cast<curl_slist *>(nullptr)));
      if (rc != CURLE_OK)
        throw Abort(fmt::format("HTTP {} failed: {}", shorten(url, 200), curl_easy_strerror(rc)));
      set(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &page.status));
      page.url = url;
      if (page.status == 301 || page.status == 302 || page.status == 303 || page.status == 307) {
        char *next = nullptr;
        set(curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next));
        if (next == nullptr) throw Abort(fmt::format("redirect without Location from {}", shorten(url, 200)));
        url = next;
        if (!stop_at.empty() && starts_with(url, stop_at)) {
          page.location = url;
          return page;
        }
        if (page.status != 307) post_body.reset();
        continue;
      }
      return page;
    }
    throw Abort("too many redirects");
  }

  std::unique_ptr<CURL, CurlDeleter> curl_;
};

// ---- just enough HTML for SimpleSAMLphp's two forms ----

inline std::string html_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    const std::string_view entity = s.substr(i + 1, semi - i - 1);
    unsigned long code = 0;
    bool numeric = false;
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (starts_with(entity, "#x") || starts_with(entity, "#X")) {
      code = std::stoul(std::string(entity.substr(2)), nullptr, 16);
      numeric = true;
    } else if (starts_with(entity, "#")) {
      code = std::stoul(std::string(entity.substr(1)), nullptr, 10);
      numeric = true;
    } else {
      out += s[i];
      continue;
    }
    if (numeric) {
      if (code >= 0x80) throw Abort("non-ASCII numeric character reference in form");
      out += static_cast<char>(code);
    }
    i = semi;
  }
  return out;
}

// Value of attribute `name` in a start tag (text between '<' and '>').
inline std::optional<std::string> tag_attribute(std::string_view tag, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = tag.find(name, pos)) != std::string_view::npos) {
    const bool boundary = pos > 0 && (tag[pos - 1] == ' ' || tag[pos - 1] == '\t' || tag[pos - 1] == '\n');
    std::size_t p = pos + name.size();
    pos = p;
    if (!boundary) continue;
    while (p < tag.size() && tag[p] == ' ') ++p;
    if (p >= tag.size() || tag[p] != '=') continue;
    ++p;
    while (p < tag.size() && tag[p] == ' ') ++p;
    if (p >= tag.size() || (tag[p] != '"' && tag[p] != '\'')) continue;
    const char quote = tag[p];
    const std::size_t end = tag.find(quote, p + 1);
    if (end == std::string_view::npos) return std::nullopt;
    return html_unescape(tag.substr(p + 1, end - p - 1));
  }
  return std::nullopt;
}

inline std::vector<std::string_view> start_tags(std::string_view html, std::string_view element) {
  std::vector<std::string_view> tags;
  const std::string open = fmt::format("<{}", element);
  std::size_t pos = 0;
  while ((pos = html.find(open, pos)) != std::string_view::npos) {
    const std::size_t end = html.find('>', pos);
    if (end == std::string_view::npos) break;
    const char after = html[pos + open.size()];
    if (after == ' ' || after == '\t' || after == '\n' || after == '>' || after == '/')
      tags.push_back(html.substr(pos, end - pos));
    pos = end;
  }
  return tags;
}

inline std::optional<std::string> input_value(std::string_view html, std::string_view name) {
  for (const auto tag : start_tags(html, "input"))
    if (tag_attribute(tag, "name") == std::optional<std::string>(name)) return tag_attribute(tag, "value");
  return std::nullopt;
}

inline std::optional<std::string> form_action(std::string_view html) {
  const auto forms = start_tags(html, "form");
  if (forms.empty()) return std::nullopt;
  return tag_attribute(forms.front(), "action");
}

inline std::string form_encode(const std::vector<std::pair<std::string, std::string>> &fields) {
  std::string out;
  for (const auto &[name, value] : fields) {
    if (!out.empty()) out += '&';
    out += interkonto::url_encode(name);
    out += '=';
    out += interkonto::url_encode(value);
  }
  return out;
}

inline std::string error_text(const Error &e) {
  return fmt::format("{} ({})", to_string(e.code()), e.detail());
}

// Runs each step of a driver; whatever a step throws is one failed check,
// and the next step still runs. Exit status: 0 when nothing failed.
template <class Args>
int run_steps(const Args &args, Report &report,
              std::initializer_list<void (*)(const Args &, Report &)> steps) {
  for (const auto step : steps) {
    try {
      step(args, report);
    } catch (const Abort &e) {
      report.check(false, "flow aborted", e.what());
    } catch (const Error &e) {
      report.check(false, "interkonto error", error_text(e));
    } catch (const std::exception &e) {
      report.check(false, "exception", e.what());
    }
  }
  return report.failed() == 0 ? 0 : 1;
}

} // namespace interkonto::interop

// SPDX-License-Identifier: EUPL-1.2
// interkonto-clara-journey: Clara's journey, headless, once, against the
// running parties (examples/clara/run.sh --journey). A tiny browser on
// libcurl: cookie engine, the demo CA as trust anchor, redirects not followed
// automatically so that every step is printed with its status and timing:
//
//   portal /bauvoranfrage -> proxy SSO -> discovery page -> choose NRW ->
//   NRW SSO (login form) -> NRW login -> consent -> proxy ACS -> portal ACS ->
//   Bauvoranfrage form
//
// and the form is checked for Clara's name, address and date of birth.
// Exit status: 0 the form is filled, 1 the journey failed, 2 usage.
//
// What it does not emulate: SameSite cookie rules and JavaScript (the
// auto-POST forms are submitted as a browser without JavaScript would, by
// their button). The browser tests (tests/e2e) cover a real Chromium.

#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t kMaxBody = 8 * 1024 * 1024;
constexpr int kMaxRequests = 40;

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- HTML: entity decoding, tags, forms -----------------------------------

void append_utf8(std::string &out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x110000) {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string html_decode(std::string_view in) {
  static const std::map<std::string, std::string, std::less<>> named = {
      {"amp", "&"},         {"lt", "<"},          {"gt", ">"},          {"quot", "\""},
      {"apos", "'"},        {"nbsp", "\xC2\xA0"}, {"auml", "\xC3\xA4"}, {"ouml", "\xC3\xB6"},
      {"uuml", "\xC3\xBC"}, {"Auml", "\xC3\x84"}, {"Ouml", "\xC3\x96"}, {"Uuml", "\xC3\x9C"},
      {"szlig", "\xC3\x9F"}};
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '&') {
      out += in[i];
      continue;
    }
    const auto semi = in.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += in[i];
      continue;
    }
    const std::string_view ent = in.substr(i + 1, semi - i - 1);
    if (!ent.empty() && ent.front() == '#') {
      std::uint32_t cp = 0;
      bool ok = ent.size() > 1;
      const bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
      for (std::size_t k = hex ? 2 : 1; ok && k < ent.size(); ++k) {
        const char c = ent[k];
        int d = -1;
        if (c >= '0' && c <= '9') d = c - '0';
        if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        if (d < 0 || cp > 0x10FFFF)
          ok = false;
        else
          cp = cp * (hex ? 16U : 10U) + static_cast<std::uint32_t>(d);
      }
      if (ok && (!hex || ent.size() > 2)) {
        append_utf8(out, cp);
        i = semi;
        continue;
      }
    } else if (auto it = named.find(ent); it != named.end()) {
      out += it->second;
      i = semi;
      continue;
    }
    out += in[i];
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return out;
}

struct Tag {
  std::string name; // lower case
  std::map<std::string, std::string> attrs;
  std::size_t begin = 0; // offset of '<'
  std::size_t end = 0;   // offset after '>'
};

// The next start tag named one of `names` at or after `from`.
std::optional<Tag> next_tag(std::string_view html, std::size_t from, const std::vector<std::string> &names) {
  for (std::size_t pos = html.find('<', from); pos != std::string_view::npos; pos = html.find('<', pos + 1)) {
    std::size_t i = pos + 1;
    std::size_t n = i;
    while (n < html.size() && std::isalnum(static_cast<unsigned char>(html[n]))) ++n;
    const std::string name = lower(html.substr(i, n - i));
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;
    Tag tag;
    tag.name = name;
    tag.begin = pos;
    i = n;
    while (i < html.size() && html[i] != '>') {
      while (i < html.size() && (std::isspace(static_cast<unsigned char>(html[i])) || html[i] == '/')) ++i;
      if (i >= html.size() || html[i] == '>') break;
      std::size_t a = i;
      while (i < html.size() && !std::isspace(static_cast<unsigned char>(html[i])) && html[i] != '=' &&
             html[i] != '>')
        ++i;
      const std::string attr = lower(html.substr(a, i - a));
      std::string value;
      while (i < html.size() && std::isspace(static_cast<unsigned char>(html[i]))) ++i;
      if (i < html.size() && html[i] == '=') {
        ++i;
        while (i < html.size() && std::isspace(static_cast<unsigned char>(html[i]))) ++i;
        if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
          const char q = html[i];
          const auto close = html.find(q, i + 1);
          if (close == std::string_view::npos) return std::nullopt;
          value = html_decode(html.substr(i + 1, close - i - 1));
          i = close + 1;
        } else {
          a = i;
          while (i < html.size() && !std::isspace(static_cast<unsigned char>(html[i])) && html[i] != '>') ++i;
          value = html_decode(html.substr(a, i - a));
        }
      }
      if (!attr.empty()) tag.attrs.emplace(attr, value);
    }
    tag.end = std::min(i + 1, html.size());
    return tag;
  }
  return std::nullopt;
}

std::string attr(const Tag &t, const std::string &name) {
  auto it = t.attrs.find(name);
  return it == t.attrs.end() ? std::string() : it->second;
}

struct Button {
  std::string name, value, text;
};

struct Form {
  std::string action;                                      // as written (may be relative)
  std::string method;                                      // "get" / "post"
  std::vector<std::pair<std::string, std::string>> fields; // successful controls (no buttons)
  std::vector<std::string> text_inputs;                    // names of text-like inputs
  std::vector<std::string> password_inputs;
  std::vector<Button> buttons;
  std::string inner; // the form's HTML
};

std::string strip_tags(std::string_view html) {
  std::string out;
  bool in_tag = false;
  for (const char c : html) {
    if (c == '<')
      in_tag = true;
    else if (c == '>')
      in_tag = false;
    else if (!in_tag)
      out += c;
  }
  return html_decode(out);
}

std::string collapse_space(std::string_view s) {
  std::string out;
  bool space = false;
  for (const char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      out += c;
      space = false;
    }
  }
  return out;
}

std::vector<Form> parse_forms(std::string_view html) {
  std::vector<Form> forms;
  std::size_t pos = 0;
  while (auto ft = next_tag(html, pos, {"form"})) {
    auto close = lower(html).find("</form", ft->end);
    if (close == std::string::npos) close = html.size();
    const std::string_view inner = html.substr(ft->end, close - ft->end);
    Form f;
    f.action = attr(*ft, "action");
    f.method = lower(attr(*ft, "method"));
    if (f.method.empty()) f.method = "get";
    f.inner = std::string(inner);
    std::size_t p = 0;
    while (auto t = next_tag(inner, p, {"input", "button", "textarea", "select"})) {
      p = t->end;
      const std::string name = attr(*t, "name");
      if (t->name == "button") {
        auto bclose = lower(inner).find("</button", t->end);
        if (bclose == std::string::npos) bclose = inner.size();
        const std::string type = lower(attr(*t, "type"));
        if (type.empty() || type == "submit")
          f.buttons.push_back(
              {name, attr(*t, "value"), collapse_space(strip_tags(inner.substr(t->end, bclose - t->end)))});
        continue;
      }
      if (t->name == "textarea") {
        auto tclose = lower(inner).find("</textarea", t->end);
        if (tclose == std::string::npos) tclose = inner.size();
        if (!name.empty()) f.fields.emplace_back(name, html_decode(inner.substr(t->end, tclose - t->end)));
        continue;
      }
      if (t->name == "select") continue; // not needed by the journey
      const std::string type = lower(attr(*t, "type"));
      if (type == "submit") {
        f.buttons.push_back({name, attr(*t, "value"), attr(*t, "value")});
      } else if (type == "password") {
        f.password_inputs.push_back(name);
      } else if (type == "checkbox" || type == "radio") {
        if (t->attrs.count("checked") != 0 && !name.empty())
          f.fields.emplace_back(name, t->attrs.count("value") ? attr(*t, "value") : "on");
      } else if (type == "reset" || type == "image" || type == "file") {
        continue;
      } else {
        if (type.empty() || type == "text" || type == "email" || type == "search")
          f.text_inputs.push_back(name);
        if (!name.empty()) f.fields.emplace_back(name, attr(*t, "value"));
      }
    }
    forms.push_back(std::move(f));
    pos = close;
  }
  return forms;
}

// ---- the browser ----------------------------------------------------------

std::string url_encode(CURL *curl, std::string_view s) {
  char *e = curl_easy_escape(curl, s.data(), static_cast<int>(s.size()));
  if (e == nullptr) throw Failure("curl_easy_escape failed");
  std::string out(e);
  curl_free(e);
  return out;
}

struct Url {
  std::string full, scheme, host, port, path, query;
  std::string origin() const { return scheme + "://" + host + (port.empty() ? "" : ":" + port); }
  std::string without_query() const { return origin() + path; }
};

Url parse_url(const std::string &base, const std::string &ref) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), &curl_url_cleanup);
  if (!base.empty() && curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK)
    throw Failure(fmt::format("bad URL {}", base));
  if (curl_url_set(u.get(), CURLUPART_URL, ref.c_str(), 0) != CURLUE_OK)
    throw Failure(fmt::format("bad URL {} (relative to {})", ref, base));
  const auto get = [&u](CURLUPart part) {
    char *v = nullptr;
    std::string out;
    if (curl_url_get(u.get(), part, &v, 0) == CURLUE_OK && v != nullptr) out = v;
    curl_free(v);
    return out;
  };
  Url url;
  url.full = get(CURLUPART_URL);
  url.scheme = get(CURLUPART_SCHEME);
  url.host = get(CURLUPART_HOST);
  url.port = get(CURLUPART_PORT);
  url.path = get(CURLUPART_PATH);
  url.query = get(CURLUPART_QUERY);
  return url;
}

struct Page {
  Url url;
  std::string method;
  long status = 0;
  std::string location;
  std::string content_type;
  std::string body;
  double ms = 0;
};

struct Collector {
  std::string body;
  std::string location;
  std::string content_type;
  bool too_large = false;
};

std::size_t on_body(char *ptr, std::size_t size, std::size_t n, void *ud) {
  auto *c = static_cast<Collector *>(ud);
  if (c->body.size() + size * n > kMaxBody) {
    c->too_large = true;
    return 0;
  }
  c->body.append(ptr, size * n);
  return size * n;
}

std::size_t on_header(char *ptr, std::size_t size, std::size_t n, void *ud) {
  auto *c = static_cast<Collector *>(ud);
  const std::string_view line(ptr, size * n);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    const std::string name = lower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    if (name == "location") c->location = std::string(value);
    if (name == "content-type") c->content_type = std::string(value);
  }
  return size * n;
}

struct Options {
  std::string portal, servicekonto, home_idp, ca, user = "clara", password = "clara-nrw", home_label = "NRW";
  bool insecure_tls = false;
  long timeout_s = 30;
  std::vector<std::string> expect;
};

class Browser {
public:
  explicit Browser(const Options &o) : curl_(curl_easy_init(), &curl_easy_cleanup) {
    if (!curl_) throw Failure("curl_easy_init failed");
    CURL *c = curl_.get();
    curl_easy_setopt(c, CURLOPT_COOKIEFILE, ""); // the cookie engine, nothing loaded
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, o.timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "interkonto-clara-journey/0.1");
    if (!o.ca.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca.c_str());
    if (o.insecure_tls) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  }

  CURL *handle() const { return curl_.get(); }

  // One request. `origin`: the Origin header of a form POST (the page's origin).
  Page request(const std::string &method, const Url &url, const std::string &form_body = {},
               const std::string &origin = {}) {
    CURL *c = curl_.get();
    Collector col;
    curl_easy_setopt(c, CURLOPT_URL, url.full.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEDATA, static_cast<void *>(&col));
    curl_easy_setopt(c, CURLOPT_HEADERDATA, static_cast<void *>(&col));
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, &curl_slist_free_all);
    const auto add = [&headers](const std::string &h) {
      curl_slist *l = curl_slist_append(headers.get(), h.c_str());
      if (l == nullptr) throw Failure("curl_slist_append failed");
      (void)headers.release();
      headers.reset(l);
    };
    add("Accept: text/html,application/xhtml+xml");
    add("Accept-Language: de-DE,de;q=0.9,en;q=0.5");
    if (method == "POST") {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(form_body.size()));
      curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, form_body.c_str());
      add("Content-Type: application/x-www-form-urlencoded");
      if (!origin.empty()) add("Origin: " + origin);
    } else {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    const auto t0 = std::chrono::steady_clock::now();
    const CURLcode rc = curl_easy_perform(c);
    const auto t1 = std::chrono::steady_clock::now();
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    if (col.too_large)
      throw Failure(fmt::format("{} {}: response larger than {} bytes", method, url.full, kMaxBody));
    if (rc != CURLE_OK)
      throw Failure(fmt::format("{} {}: {}", method, url.without_query(), curl_easy_strerror(rc)));
    Page p;
    p.url = url;
    p.method = method;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p.status);
    p.location = col.location;
    p.content_type = col.content_type;
    p.body = std::move(col.body);
    p.ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    return p;
  }

private:
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_;
};

// ---- the journey ----------------------------------------------------------

class Journey {
public:
  explicit Journey(Options o) : o_(std::move(o)), browser_(o_) {
    portal_ = parse_url({}, o_.portal + "/");
    home_ = parse_url({}, o_.home_idp + "/");
    if (!o_.servicekonto.empty()) sk_ = parse_url({}, o_.servicekonto + "/");
  }

  int run() {
    std::cout << fmt::format("journey: Clara ({}) files a Bauvoranfrage at {}/bauvoranfrage\n", o_.user,
                             o_.portal);
    std::cout << fmt::format("{:>3}  {:<24} {:<4} {:<48} {:>6} {:>9}\n", "#", "step", "", "URL", "status",
                             "time");
    const auto t0 = std::chrono::steady_clock::now();
    Page page = go("GET", parse_url({}, o_.portal + "/bauvoranfrage"));
    for (;;) {
      page = follow_redirects(std::move(page));
      if (page.status != 200)
        throw Failure(fmt::format("{} {} answered {}: {}", page.method, page.url.without_query(), page.status,
                                  excerpt(page.body)));
      if (is_portal(page.url) && page.url.path == "/bauvoranfrage" && done_login_) {
        check_form(page);
        break;
      }
      page = act(page);
    }
    const double total =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("journey OK: {} requests, {:.1f} ms in all ({:.1f} ms waiting for answers)\n",
                             requests_, total, request_ms_);
    return 0;
  }

private:
  bool same_site(const Url &a, const Url &b) const { return a.host == b.host && a.port == b.port; }
  bool is_portal(const Url &u) const { return same_site(u, portal_); }
  bool is_home(const Url &u) const { return same_site(u, home_); }
  bool is_sk(const Url &u) const {
    if (sk_) return same_site(u, *sk_);
    return !is_portal(u) && !is_home(u);
  }

  std::string label(const std::string &method, const Url &u, const std::string &hint) const {
    if (!hint.empty()) return hint;
    if (is_portal(u)) {
      if (u.path == "/bauvoranfrage") return done_login_ ? "Bauvoranfrage form" : "portal /bauvoranfrage";
      if (u.path == "/sp/acs") return "portal ACS";
      return "portal " + u.path;
    }
    if (is_home(u)) {
      if (u.path == "/idp/sso") return o_.home_label + " SSO (login form)";
      return o_.home_label + " " + u.path;
    }
    if (is_sk(u)) {
      if (u.path == "/idp/sso") return "proxy SSO";
      if (u.path == "/sp/acs") return "proxy ACS";
      if (u.path == "/sp/login") return "proxy login (to " + o_.home_label + ")";
      if (u.path.find("discovery") != std::string::npos)
        return method == "GET" ? "discovery page" : "choose NRW";
      return "proxy " + u.path;
    }
    return u.origin() + u.path;
  }

  Page go(const std::string &method, const Url &url, const std::string &body = {},
          const std::string &origin = {}, const std::string &hint = {}) {
    if (++requests_ > kMaxRequests)
      throw Failure(fmt::format("more than {} requests: a loop?", kMaxRequests));
    if (is_portal(url) && url.path == "/sp/acs" && method == "POST") done_login_ = true;
    Page p = browser_.request(method, url, body, origin);
    request_ms_ += p.ms;
    std::string shown = url.without_query();
    if (!url.query.empty()) shown += "?\xE2\x80\xA6";
    std::cout << fmt::format("{:>3}  {:<24} {:<4} {:<48} {:>6} {:>6.1f} ms\n", requests_,
                             label(method, url, hint), method, shown, p.status, p.ms)
              << std::flush;
    return p;
  }

  Page follow_redirects(Page page) {
    while (page.status == 301 || page.status == 302 || page.status == 303 || page.status == 307 ||
           page.status == 308) {
      if (page.location.empty())
        throw Failure(fmt::format("{} {}: redirect without Location", page.method, page.url.without_query()));
      const Url next = parse_url(page.url.full, page.location);
      if (page.status == 307 || page.status == 308)
        throw Failure(fmt::format("unexpected {} from {}", page.status, page.url.without_query()));
      page = go("GET", next);
    }
    return page;
  }

  std::string encode_form(const std::vector<std::pair<std::string, std::string>> &fields) {
    std::string out;
    for (const auto &[k, v] : fields) {
      if (!out.empty()) out += '&';
      out += url_encode(browser_.handle(), k) + '=' + url_encode(browser_.handle(), v);
    }
    return out;
  }

  Page submit(const Page &page, const Form &form, const Button *button, const std::string &hint,
              std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto &f : form.fields) {
      const bool overridden =
          std::any_of(extra.begin(), extra.end(), [&f](const auto &e) { return e.first == f.first; });
      if (!overridden) fields.push_back(f);
    }
    for (auto &e : extra) fields.push_back(std::move(e));
    if (button != nullptr && !button->name.empty()) fields.emplace_back(button->name, button->value);
    const Url target = parse_url(page.url.full, form.action.empty() ? page.url.full : form.action);
    const std::string body = encode_form(fields);
    if (form.method == "post") return go("POST", target, body, page.url.origin(), hint);
    Url get = parse_url(target.full, "?" + body);
    return go("GET", get, {}, {}, hint);
  }

  // The readable text of a page (its <main>, without style and script), shortened.
  static std::string excerpt(const std::string &html) {
    std::string h = html;
    const std::string l = lower(h);
    const auto m = l.find("<main");
    const auto me = l.find("</main>");
    if (m != std::string::npos && me != std::string::npos && me > m) h = h.substr(m, me - m);
    for (const std::string tag : {"style", "script"}) {
      for (;;) {
        const std::string lh = lower(h);
        const auto a = lh.find("<" + tag);
        if (a == std::string::npos) break;
        const auto b = lh.find("</" + tag + ">", a);
        h.erase(a, b == std::string::npos ? std::string::npos : b + tag.size() + 3 - a);
      }
    }
    std::string text = collapse_space(strip_tags(h));
    if (text.size() > 400) text = text.substr(0, 400) + "...";
    return text;
  }

  // One page of the journey -> the request that continues it.
  Page act(const Page &page) {
    const std::vector<Form> forms = parse_forms(page.body);
    // 1. An auto-POST form carrying a SAML message: submit it (as without JavaScript).
    for (const Form &f : forms) {
      const bool saml = std::any_of(f.fields.begin(), f.fields.end(), [](const auto &kv) {
        return kv.first == "SAMLResponse" || kv.first == "SAMLRequest";
      });
      if (saml) {
        const Url target = parse_url(page.url.full, f.action);
        std::string hint;
        if (is_sk(target) && target.path == "/sp/acs") hint = "proxy ACS";
        if (is_portal(target) && target.path == "/sp/acs") hint = "portal ACS";
        return submit(page, f, f.buttons.empty() ? nullptr : &f.buttons.front(), hint);
      }
    }
    // 2. The login form: user name and password.
    for (const Form &f : forms) {
      if (!f.password_inputs.empty()) {
        if (logged_in_) throw Failure("the login form came back: " + excerpt(page.body));
        std::vector<std::pair<std::string, std::string>> extra;
        std::string user_field = "username";
        for (const auto &n : f.text_inputs) {
          if (!n.empty()) {
            user_field = n;
            break;
          }
        }
        extra.emplace_back(user_field, o_.user);
        extra.emplace_back(f.password_inputs.front(), o_.password);
        logged_in_ = true;
        return submit(page, f, f.buttons.empty() ? nullptr : &f.buttons.front(), o_.home_label + " login",
                      std::move(extra));
      }
    }
    // 3. The discovery page: the button whose value is the home IdP's entityID.
    const std::string home_entity = o_.home_idp + "/idp";
    for (const Form &f : forms) {
      for (const Button &b : f.buttons) {
        if (b.value == home_entity) return submit(page, f, &b, fmt::format("choose {}", b.text));
      }
    }
    // 4. The consent page (at the home IdP, after the login): the consenting button.
    if (logged_in_ && is_home(page.url)) {
      for (const Form &f : forms) {
        for (const Button &b : f.buttons) {
          const std::string t = lower(b.text + " " + b.name + " " + b.value);
          const bool cancel = t.find("abbrech") != std::string::npos ||
                              t.find("cancel") != std::string::npos ||
                              t.find("ablehn") != std::string::npos || t.find("deny") != std::string::npos;
          if (!cancel) return submit(page, f, &b, "consent");
        }
      }
    }
    throw Failure(fmt::format("unexpected page at {} ({}): {}", page.url.without_query(), page.status,
                              excerpt(page.body)));
  }

  void check_form(const Page &page) {
    const std::string text = html_decode(page.body);
    std::vector<std::string> missing;
    for (const auto &e : o_.expect) {
      if (text.find(e) == std::string::npos) missing.push_back(e);
    }
    const bool birth =
        text.find("1990-04-12") != std::string::npos || text.find("12.04.1990") != std::string::npos;
    if (!birth) missing.emplace_back("1990-04-12 / 12.04.1990");
    // The filled fields, for the record.
    std::vector<std::string> shown;
    for (const Form &f : parse_forms(page.body)) {
      for (const auto &[k, v] : f.fields) {
        if (!v.empty() && k.find("csrf") == std::string::npos && k.find("token") == std::string::npos)
          shown.push_back(fmt::format("{}={}", k, v));
      }
    }
    if (!shown.empty()) {
      std::string line;
      for (const auto &s : shown) line += (line.empty() ? "" : ", ") + s;
      std::cout << "     form fields: " << line << '\n';
    }
    if (!missing.empty()) {
      std::string m;
      for (const auto &s : missing) m += (m.empty() ? "" : ", ") + s;
      throw Failure(fmt::format("the Bauvoranfrage form lacks: {}; page: {}", m, excerpt(page.body)));
    }
    std::cout << "     form filled: Clara Schmidt, Königsallee 1, 40212 Düsseldorf, born 1990-04-12\n";
  }

  Options o_;
  Browser browser_;
  Url portal_, home_;
  std::optional<Url> sk_;
  bool logged_in_ = false;
  bool done_login_ = false;
  int requests_ = 0;
  double request_ms_ = 0;
};

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"interkonto-clara-journey: Clara's journey, headless, against the running parties"};
  Options o;
  o.expect = {"Clara", "Schmidt", "Königsallee 1", "40212", "Düsseldorf"};
  app.add_option("--portal", o.portal, "Base URL of the Thüringen portal (https://127.0.0.6:8443)")
      ->required();
  app.add_option("--servicekonto", o.servicekonto, "Base URL of Servicekonto Thüringen (for the step names)");
  app.add_option("--home-idp", o.home_idp, "Base URL of Clara's account (Servicekonto.NRW)")->required();
  app.add_option("--home-label", o.home_label, "Short name of the home account in the step names")
      ->capture_default_str();
  app.add_option("--ca", o.ca, "Trust anchor for HTTPS (the demo CA)")->check(CLI::ExistingFile);
  app.add_flag("--insecure-tls", o.insecure_tls, "Do not verify TLS certificates (development only)");
  app.add_option("--user", o.user, "User name")->capture_default_str();
  app.add_option("--password", o.password, "Password")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "Seconds per request")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  std::vector<std::string> extra;
  app.add_option("--expect", extra, "Further text the final form must contain (repeatable)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  for (auto *s : {&o.portal, &o.home_idp, &o.servicekonto}) {
    while (!s->empty() && s->back() == '/') s->pop_back();
  }
  o.expect.insert(o.expect.end(), extra.begin(), extra.end());

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    std::cerr << "journey: curl_global_init failed\n";
    return 1;
  }
  int rc = 1;
  try {
    Journey j(o);
    rc = j.run();
  } catch (const Failure &e) {
    std::cout << std::flush;
    std::cerr << "journey FAILED: " << e.what() << '\n';
    rc = 1;
  } catch (const std::exception &e) {
    std::cout << std::flush;
    std::cerr << "journey FAILED: " << e.what() << '\n';
    rc = 1;
  }
  curl_global_cleanup();
  return rc;
}

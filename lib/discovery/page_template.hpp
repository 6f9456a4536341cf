// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal: the built-in templates of the discovery page and its error page.
// Placeholders are documented in docs/discovery.md. Every <style> element's
// content is allowed by its SHA-256 hash in the Content-Security-Policy
// (computed when the template is loaded), so it may hold no placeholder.
// Colours: text #1a1a1a on #ffffff (17.4:1), links and borders #0b4f9c
// (8.3:1), hover background #e8f0fa (text 15.5:1, links 7.2:1).

#include <string_view>

namespace interkonto::discovery_detail {

// The CSS shared by both built-in templates (kept in one place so both
// hash to the same value).
#define INTERKONTO_DISCOVERY_CSS                                                                             \
  "\n*{box-sizing:border-box}\n"                                                                             \
  "html{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;"        \
  "font-size:100%;line-height:1.5;color:#1a1a1a;background:#ffffff}\n"                                       \
  "body{margin:0;padding:0}\n"                                                                               \
  "header,main{max-width:40rem;margin:0 auto;padding:0 1rem}\n"                                              \
  "header{padding-top:0.75rem;text-align:right}\n"                                                           \
  "main{padding-bottom:2rem}\n"                                                                              \
  "h1{font-size:1.5rem;line-height:1.25;margin:1rem 0 1.5rem}\n"                                             \
  "a{color:#0b4f9c;text-decoration:underline}\n"                                                             \
  "a:hover{background:#e8f0fa}\n"                                                                            \
  "label{font-weight:600}\n"                                                                                 \
  ".search label{display:block;margin-bottom:0.25rem}\n"                                                     \
  ".search-row{display:flex;gap:0.5rem}\n"                                                                   \
  "input[type=search]{flex:1;min-width:0;font:inherit;padding:0.5rem;color:#1a1a1a;background:#ffffff;"      \
  "border:2px solid #5a5a5a;border-radius:4px}\n"                                                            \
  "button{font:inherit;cursor:pointer;color:#1a1a1a;background:#ffffff;border:2px solid #0b4f9c;"            \
  "border-radius:4px;padding:0.5rem 1rem}\n"                                                                 \
  "button:hover,button:focus{background:#e8f0fa}\n"                                                          \
  "a:focus,button:focus,input:focus{outline:3px solid #0b4f9c;outline-offset:2px}\n"                         \
  ".reset{margin:0.5rem 0 0}\n"                                                                              \
  ".status{min-height:1.5rem;margin:1rem 0}\n"                                                               \
  ".remember{display:flex;align-items:center;gap:0.5rem;margin:0 0 1rem}\n"                                  \
  ".remember label{font-weight:400}\n"                                                                       \
  ".remember input{width:1.25rem;height:1.25rem;margin:0}\n"                                                 \
  "ul.idps{list-style:none;margin:0;padding:0}\n"                                                            \
  "ul.idps li{margin:0 0 0.5rem}\n"                                                                          \
  "ul.idps button{display:flex;align-items:center;gap:0.75rem;width:100%;min-height:3rem;"                   \
  "text-align:left;padding:0.75rem 1rem}\n"                                                                  \
  "ul.idps img{flex:none}\n"                                                                                 \
  ".code{color:#4d4d4d}\n"

inline constexpr std::string_view kPageTemplate =
    "<!DOCTYPE html>\n"
    "<html lang=\"{{lang}}\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>{{title}}</title>\n"
    "<style>" INTERKONTO_DISCOVERY_CSS "</style>\n"
    "</head>\n"
    "<body>\n"
    "<header>\n"
    "<nav aria-label=\"{{lang_switch_label}}\">{{lang_switch}}</nav>\n"
    "</header>\n"
    "<main>\n"
    "<h1>{{heading}}</h1>\n"
    "<form class=\"search\" method=\"get\" action=\"{{search_action}}\" role=\"search\">\n"
    "{{hidden_state}}"
    "<label for=\"q\">{{search_label}}</label>\n"
    "<div class=\"search-row\">\n"
    "<input type=\"search\" id=\"q\" name=\"q\" value=\"{{search_value}}\" maxlength=\"200\" "
    "autocomplete=\"off\">\n"
    "<button type=\"submit\">{{search_button}}</button>\n"
    "</div>\n"
    "{{search_reset}}"
    "</form>\n"
    "<p class=\"status\" role=\"status\">{{status}}</p>\n"
    "{{results}}"
    "</main>\n"
    "</body>\n"
    "</html>\n";

inline constexpr std::string_view kErrorTemplate =
    "<!DOCTYPE html>\n"
    "<html lang=\"{{lang}}\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>{{title}}</title>\n"
    "<style>" INTERKONTO_DISCOVERY_CSS "</style>\n"
    "</head>\n"
    "<body>\n"
    "<main>\n"
    "<h1>{{heading}}</h1>\n"
    "<p>{{message}}</p>\n"
    "{{link}}"
    "<p class=\"code\">{{code_label}} <code>{{code}}</code></p>\n"
    "</main>\n"
    "</body>\n"
    "</html>\n";

#undef INTERKONTO_DISCOVERY_CSS

} // namespace interkonto::discovery_detail

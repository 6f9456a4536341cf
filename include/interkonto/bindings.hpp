// SPDX-License-Identifier: EUPL-1.2
#pragma once
// SAML HTTP-Redirect and HTTP-POST binding codecs, and the plain codecs they
// are made of. Every decoder takes a size limit and fails with a clear Error
// (too_large / malformed) instead of allocating without bound.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interkonto/crypto.hpp"

namespace interkonto {

inline constexpr std::size_t default_message_limit = 256 * 1024; // decoded XML bytes

std::string base64_encode(std::string_view data);
// Ignores ASCII whitespace; rejects any other non-alphabet byte and bad padding.
std::string base64_decode(std::string_view text);
std::string base64url_encode_nopad(std::string_view data);

// Raw DEFLATE (RFC 1951), as the Redirect binding uses it.
std::string deflate_raw(std::string_view data);
std::string inflate_raw(std::string_view data, std::size_t max_output);

std::string url_encode(std::string_view s); // RFC 3986 unreserved kept
std::string url_decode(std::string_view s, bool plus_as_space = true);
// Splits "a=1&b=2" into decoded pairs (order kept). raw_values keeps values undecoded.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q, bool raw_values = false);

std::string html_escape(std::string_view s);

enum class MessageKind { request, response };

// HTTP-Redirect: build "?SAMLRequest=...&RelayState=...&SigAlg=...&Signature=..."
// query (without '?'); signs when key is given (empty sig_alg: RSA-SHA256 or
// ECDSA-SHA256 by key type). RelayState is left out when empty.
std::string redirect_encode(MessageKind kind, std::string_view xml, std::string_view relay_state,
                            const PrivateKey *key, std::string_view sig_alg);

struct RedirectMessage {
  MessageKind kind;
  std::string xml;
  std::optional<std::string> relay_state;
  std::optional<std::string> sig_alg;
  std::optional<std::string> signature; // decoded bytes
  std::string signed_octets;            // the exact raw query bytes the signature covers
};
// Decode a raw query string (as received). Does not verify the signature.
RedirectMessage redirect_decode(std::string_view raw_query, std::size_t max_xml = default_message_limit);
// Verify the query signature against the given keys (any one suffices).
// Throws Error: signature_missing, algorithm_refused, signature_invalid.
void redirect_verify(const RedirectMessage &msg, const std::vector<PublicKey> &keys,
                     const AlgorithmPolicy &policy);

// HTTP-POST: an auto-submitting HTML form (works without JavaScript too:
// a "Weiter / Continue" button). No inline event handlers and no styles; the
// only script is one fixed inline <script> that post_form_csp() allows by its
// SHA-256 hash. Serve the page with that policy.
std::string post_form_html(std::string_view action_url, MessageKind kind, std::string_view xml,
                           std::string_view relay_state);
// Content-Security-Policy for the form page posting to `action_url`:
// default-src 'none'; script-src 'sha256-<hash of the auto-submit script>';
// form-action <origin of action_url> ('self' for a relative URL);
// base-uri 'none'; frame-ancestors 'none'.
// Throws Error(config_invalid) for a URL whose origin cannot be expressed safely.
std::string post_form_csp(std::string_view action_url);
// The exact text of the auto-submit script (for tests and other CSP builders).
std::string_view post_form_script();
// Decode the SAMLRequest/SAMLResponse form value (base64, whitespace ignored).
std::string post_decode(std::string_view base64_value, std::size_t max_xml = default_message_limit);

// Pretty-print XML (for `interkonto decode`). Throws Error(malformed).
std::string pretty_xml(std::string_view xml);

} // namespace interkonto

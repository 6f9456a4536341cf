// SPDX-License-Identifier: EUPL-1.2
// SAML HTTP-Redirect / HTTP-POST binding codecs and the plain codecs they are
// made of (base64, raw DEFLATE, URL and HTML escaping).

#include "interkonto/bindings.hpp"

#define ZLIB_CONST
#include <zlib.h>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/error.hpp"

namespace interkonto {

namespace {

constexpr std::string_view b64_std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view b64_url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string b64_encode(std::string_view data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(data[k]));
  };
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t v = byte(i) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Strict standard-alphabet base64 decoder. ASCII whitespace is ignored; any
// other byte outside the alphabet, missing or misplaced padding and non-zero
// pad bits are malformed. Fails with too_large before allocating when the
// decoded size would exceed max_out.
// Byte classes for the decoder: 0..63 alphabet, kWs whitespace, kPad '=', kBad anything else.
constexpr std::uint8_t kWs = 64, kPad = 65, kBad = 255;
constexpr std::array<std::uint8_t, 256> kB64Table = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(kBad);
  for (int i = 0; i < 26; ++i) {
    t[static_cast<std::size_t>('A' + i)] = static_cast<std::uint8_t>(i);
    t[static_cast<std::size_t>('a' + i)] = static_cast<std::uint8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t[static_cast<std::size_t>('0' + i)] = static_cast<std::uint8_t>(52 + i);
  t[static_cast<std::size_t>('+')] = 62;
  t[static_cast<std::size_t>('/')] = 63;
  for (char c : {' ', '\t', '\r', '\n', '\f', '\v'}) t[static_cast<std::size_t>(c)] = kWs;
  t[static_cast<std::size_t>('=')] = kPad;
  return t;
}();

std::string b64_decode(std::string_view text, std::size_t max_out) {
  // Table-driven: one lookup per byte, output written into a presized buffer
  // (this runs on every ACS POST, ahead of parsing).
  // Cheap early bound before allocating (whitespace may inflate the text); exact check below.
  if (max_out < std::numeric_limits<std::size_t>::max() / 4 && text.size() / 4 * 3 > max_out * 2 + 4096)
    throw Error(ErrorCode::too_large,
                "base64: decoded message larger than " + std::to_string(max_out) + " bytes");
  std::string out;
  out.resize(text.size() / 4 * 3 + 3);
  std::size_t o = 0;
  std::uint32_t acc = 0;
  std::size_t n = 0;   // symbols in the current quad (incl. padding)
  std::size_t pad = 0; // '=' seen
  const auto *p = reinterpret_cast<const unsigned char *>(text.data());
  const std::size_t len = text.size();
  std::size_t i = 0;
  while (i < len) {
    // Fast path: four alphabet bytes at a quad boundary (the common case).
    if (n == 0 && pad == 0 && i + 4 <= len) {
      const std::uint32_t a = kB64Table[p[i]], b = kB64Table[p[i + 1]], c = kB64Table[p[i + 2]],
                          d = kB64Table[p[i + 3]];
      if ((a | b | c | d) < 64) {
        const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
        out[o++] = static_cast<char>((v >> 16) & 0xff);
        out[o++] = static_cast<char>((v >> 8) & 0xff);
        out[o++] = static_cast<char>(v & 0xff);
        i += 4;
        continue;
      }
    }
    const std::uint8_t v = kB64Table[p[i++]];
    if (v < 64) {
      if (pad > 0) throw Error(ErrorCode::malformed, "base64: data after padding");
      acc = (acc << 6) | v;
      if (++n == 4) {
        out[o++] = static_cast<char>((acc >> 16) & 0xff);
        out[o++] = static_cast<char>((acc >> 8) & 0xff);
        out[o++] = static_cast<char>(acc & 0xff);
        acc = 0;
        n = 0;
      }
    } else if (v == kWs) {
      continue;
    } else if (v == kPad) {
      if (n < 2 || ++pad > 2 || n + pad > 4) throw Error(ErrorCode::malformed, "base64: bad padding");
    } else {
      throw Error(ErrorCode::malformed, "base64: byte outside the alphabet");
    }
  }
  if (pad > 0) {
    if (n + pad != 4) throw Error(ErrorCode::malformed, "base64: length is not a multiple of 4");
    if (pad == 2) {
      if ((acc & 0x0f) != 0) throw Error(ErrorCode::malformed, "base64: non-zero pad bits");
      out[o++] = static_cast<char>((acc >> 4) & 0xff);
    } else {
      if ((acc & 0x03) != 0) throw Error(ErrorCode::malformed, "base64: non-zero pad bits");
      out[o++] = static_cast<char>((acc >> 10) & 0xff);
      out[o++] = static_cast<char>((acc >> 2) & 0xff);
    }
  } else if (n != 0) {
    throw Error(ErrorCode::malformed, "base64: length is not a multiple of 4");
  }
  out.resize(o);
  if (o > max_out)
    throw Error(ErrorCode::too_large,
                "base64: decoded message larger than " + std::to_string(max_out) + " bytes");
  return out;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool is_unreserved(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// zlib takes uInt lengths; feed large inputs in slices.
constexpr std::size_t zlib_slice = std::size_t{1} << 30;

struct DeflateStream {
  z_stream s{};
  bool ok = false;
  DeflateStream() {
    ok = deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~DeflateStream() {
    if (ok) deflateEnd(&s);
  }
  DeflateStream(const DeflateStream &) = delete;
  DeflateStream &operator=(const DeflateStream &) = delete;
};

struct InflateStream {
  z_stream s{};
  bool ok = false;
  InflateStream() { ok = inflateInit2(&s, -15) == Z_OK; }
  ~InflateStream() {
    if (ok) inflateEnd(&s);
  }
  InflateStream(const InflateStream &) = delete;
  InflateStream &operator=(const InflateStream &) = delete;
};

std::string_view param_name(MessageKind kind) noexcept {
  return kind == MessageKind::request ? "SAMLRequest" : "SAMLResponse";
}

std::string default_sig_alg(const PrivateKey &key) {
  return std::string(key.type() == KeyType::ec ? alg::ecdsa_sha256 : alg::rsa_sha256);
}

// The auto-submit script of the POST form page. Its SHA-256 goes into the CSP.
constexpr std::string_view form_script = "document.forms[0].submit();";

const std::string &form_script_hash() {
  static const std::string hash = [] {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(form_script.data(), form_script.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
      throw Error(ErrorCode::internal, "SHA-256 of the form script failed");
    return "sha256-" +
           b64_encode(std::string_view(reinterpret_cast<const char *>(md.data()), len), b64_std, true);
  }();
  return hash;
}

// The origin ("scheme://host[:port]") of an absolute http(s) URL, lower-cased,
// restricted to bytes that cannot break out of a CSP source expression.
std::string csp_origin(std::string_view url) {
  const auto bad = [&](const char *why) {
    return Error(ErrorCode::config_invalid, std::string("form-action: ") + why);
  };
  if (!url.empty() && url.front() == '/' && (url.size() == 1 || url[1] != '/')) return "'self'";
  const std::size_t colon = url.find("://");
  if (colon == std::string_view::npos) throw bad("URL is neither absolute nor a path");
  std::string scheme(url.substr(0, colon));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  if (scheme != "https" && scheme != "http") throw bad("URL scheme is not http(s)");
  std::string_view rest = url.substr(colon + 3);
  const std::size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  if (authority.empty()) throw bad("URL has no host");
  std::string host;
  for (const char c : authority) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                         c == ':' || c == '[' || c == ']';
    if (c >= 'A' && c <= 'Z') {
      host.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (allowed) {
      host.push_back(c);
    } else {
      throw bad("URL host contains a byte not allowed in a CSP source");
    }
  }
  return scheme + "://" + host;
}

struct NodeDeleter {
  void operator()(xmlNode *n) const noexcept { xmlFreeNode(n); }
};

bool blank_text(const xmlNode *n) {
  if (n->type != XML_TEXT_NODE) return false;
  if (n->content == nullptr) return true;
  for (const xmlChar *p = n->content; *p != 0; ++p)
    if (!is_space(static_cast<char>(*p))) return false;
  return true;
}

// Removes whitespace-only text nodes from elements that have element
// children, so that the serialiser can indent.
void strip_blank_text(xmlNode *element) {
  bool has_element_child = false;
  for (xmlNode *c = element->children; c != nullptr; c = c->next)
    if (c->type == XML_ELEMENT_NODE) has_element_child = true;
  xmlNode *c = element->children;
  while (c != nullptr) {
    xmlNode *next = c->next;
    if (c->type == XML_ELEMENT_NODE) {
      strip_blank_text(c);
    } else if (has_element_child && blank_text(c)) {
      xmlUnlinkNode(c);
      std::unique_ptr<xmlNode, NodeDeleter> owned(c);
    }
    c = next;
  }
}

} // namespace

// ---------------------------------------------------------------- base64

std::string base64_encode(std::string_view data) {
  return b64_encode(data, b64_std, true);
}

std::string base64_decode(std::string_view text) {
  return b64_decode(text, std::numeric_limits<std::size_t>::max());
}

std::string base64url_encode_nopad(std::string_view data) {
  return b64_encode(data, b64_url, false);
}

// ---------------------------------------------------------------- DEFLATE

std::string deflate_raw(std::string_view data) {
  DeflateStream z;
  if (!z.ok) throw Error(ErrorCode::internal, "deflateInit2 failed");
  std::string out;
  std::array<unsigned char, 16384> buf{};
  std::size_t offset = 0;
  for (;;) {
    const std::size_t slice = std::min(zlib_slice, data.size() - offset);
    z.s.next_in = reinterpret_cast<const Bytef *>(data.data() + offset);
    z.s.avail_in = static_cast<uInt>(slice);
    offset += slice;
    const int flush = offset == data.size() ? Z_FINISH : Z_NO_FLUSH;
    int rc = Z_OK;
    do {
      z.s.next_out = buf.data();
      z.s.avail_out = static_cast<uInt>(buf.size());
      rc = deflate(&z.s, flush);
      if (rc == Z_STREAM_ERROR) throw Error(ErrorCode::internal, "deflate failed");
      out.append(reinterpret_cast<const char *>(buf.data()), buf.size() - z.s.avail_out);
    } while (z.s.avail_out == 0);
    if (flush == Z_FINISH) {
      if (rc != Z_STREAM_END) throw Error(ErrorCode::internal, "deflate did not finish");
      break;
    }
  }
  return out;
}

std::string inflate_raw(std::string_view data, std::size_t max_output) {
  InflateStream z;
  if (!z.ok) throw Error(ErrorCode::internal, "inflateInit2 failed");
  std::string out;
  std::array<unsigned char, 16384> buf{};
  std::size_t offset = 0;
  bool finished = false;
  // Every round either consumes input or produces output (else we stop), so
  // the loop is bounded by input size + max_output / buffer size.
  while (!finished) {
    if (z.s.avail_in == 0 && offset < data.size()) {
      const std::size_t slice = std::min(zlib_slice, data.size() - offset);
      z.s.next_in = reinterpret_cast<const Bytef *>(data.data() + offset);
      z.s.avail_in = static_cast<uInt>(slice);
      offset += slice;
    }
    z.s.next_out = buf.data();
    z.s.avail_out = static_cast<uInt>(buf.size());
    const uInt in_before = z.s.avail_in;
    const int rc = inflate(&z.s, Z_NO_FLUSH);
    const std::size_t produced = buf.size() - z.s.avail_out;
    switch (rc) {
    case Z_STREAM_END:
      finished = true;
      break;
    case Z_OK:
    case Z_BUF_ERROR: // no progress possible: handled below
      break;
    case Z_MEM_ERROR:
      throw Error(ErrorCode::internal, "inflate: out of memory");
    default: // Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR
      throw Error(ErrorCode::malformed, "DEFLATE data is corrupt");
    }
    // Checked before appending: the output never grows beyond the limit.
    if (produced > max_output - out.size())
      throw Error(ErrorCode::too_large,
                  "inflated message larger than " + std::to_string(max_output) + " bytes");
    out.append(reinterpret_cast<const char *>(buf.data()), produced);
    if (!finished && produced == 0 && z.s.avail_in == in_before) {
      if (z.s.avail_in == 0 && offset < data.size()) continue; // next slice
      throw Error(ErrorCode::malformed, "DEFLATE data is truncated");
    }
  }
  if (z.s.avail_in != 0 || offset != data.size())
    throw Error(ErrorCode::malformed, "trailing data after the DEFLATE stream");
  return out;
}

// ---------------------------------------------------------------- URL, HTML

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (const char c : s) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(hex[b >> 4]);
      out.push_back(hex[b & 0x0f]);
    }
  }
  return out;
}

std::string url_decode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) throw Error(ErrorCode::malformed, "URL encoding: truncated %-escape");
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) throw Error(ErrorCode::malformed, "URL encoding: bad %-escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q, bool raw_values) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= q.size()) {
    std::size_t amp = q.find('&', pos);
    if (amp == std::string_view::npos) amp = q.size();
    const std::string_view part = q.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    const std::string_view name = part.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    out.emplace_back(url_decode(name), raw_values ? std::string(value) : url_decode(value));
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (const char c : s) {
    switch (c) {
    case '&':
      out.append("&amp;");
      break;
    case '<':
      out.append("&lt;");
      break;
    case '>':
      out.append("&gt;");
      break;
    case '"':
      out.append("&quot;");
      break;
    case '\'':
      out.append("&#39;");
      break;
    default:
      out.push_back(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------- HTTP-Redirect

std::string redirect_encode(MessageKind kind, std::string_view xml, std::string_view relay_state,
                            const PrivateKey *key, std::string_view sig_alg) {
  std::string query(param_name(kind));
  query.push_back('=');
  query.append(url_encode(base64_encode(deflate_raw(xml))));
  if (!relay_state.empty()) {
    query.append("&RelayState=");
    query.append(url_encode(relay_state));
  }
  if (key != nullptr) {
    const std::string method = sig_alg.empty() ? default_sig_alg(*key) : std::string(sig_alg);
    query.append("&SigAlg=");
    query.append(url_encode(method));
    // SAML bindings §3.4.4.1: the signature covers exactly these octets.
    const std::string signature = xmlsec::sign_bytes(*key, method, query);
    query.append("&Signature=");
    query.append(url_encode(base64_encode(signature)));
  }
  return query;
}

RedirectMessage redirect_decode(std::string_view raw_query, std::size_t max_xml) {
  std::optional<std::string_view> request, response, relay, sig_alg, signature;
  std::size_t pos = 0;
  while (pos <= raw_query.size()) {
    std::size_t amp = raw_query.find('&', pos);
    if (amp == std::string_view::npos) amp = raw_query.size();
    const std::string_view part = raw_query.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    const std::string name = url_decode(part.substr(0, eq));
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    std::optional<std::string_view> *slot = nullptr;
    if (name == "SAMLRequest") {
      slot = &request;
    } else if (name == "SAMLResponse") {
      slot = &response;
    } else if (name == "RelayState") {
      slot = &relay;
    } else if (name == "SigAlg") {
      slot = &sig_alg;
    } else if (name == "Signature") {
      slot = &signature;
    } else {
      continue; // not ours
    }
    if (slot->has_value())
      throw Error(ErrorCode::malformed, "Redirect binding: duplicate " + name + " parameter");
    *slot = value;
  }
  if (request && response)
    throw Error(ErrorCode::malformed, "Redirect binding: both SAMLRequest and SAMLResponse");
  if (!request && !response)
    throw Error(ErrorCode::malformed, "Redirect binding: no SAMLRequest or SAMLResponse");

  RedirectMessage msg;
  msg.kind = request ? MessageKind::request : MessageKind::response;
  const std::string_view raw_message = request ? *request : *response;

  // A DEFLATE stream of max_xml bytes needs at most a little more than that;
  // base64 adds a third and %-escaping at most triples it.
  const std::size_t max_raw = (max_xml + max_xml / 64 + 1024) / 3 * 4 * 3 + 16;
  if (raw_message.size() > max_raw)
    throw Error(ErrorCode::too_large, "Redirect binding: SAML parameter too long");

  // signed_octets from the raw bytes as received, never re-encoded.
  msg.signed_octets.append(param_name(msg.kind));
  msg.signed_octets.push_back('=');
  msg.signed_octets.append(raw_message);
  if (relay) {
    msg.signed_octets.append("&RelayState=");
    msg.signed_octets.append(*relay);
  }
  if (sig_alg) {
    msg.signed_octets.append("&SigAlg=");
    msg.signed_octets.append(*sig_alg);
  }

  // Base64 and URIs never contain spaces: a literal '+' stays a '+'.
  const std::string compressed =
      b64_decode(url_decode(raw_message, false), std::numeric_limits<std::size_t>::max());
  msg.xml = inflate_raw(compressed, max_xml);
  if (relay) msg.relay_state = url_decode(*relay, true);
  if (sig_alg) msg.sig_alg = url_decode(*sig_alg, false);
  if (signature) msg.signature = base64_decode(url_decode(*signature, false));
  return msg;
}

void redirect_verify(const RedirectMessage &msg, const std::vector<PublicKey> &keys,
                     const AlgorithmPolicy &policy) {
  if (!msg.signature || !msg.sig_alg)
    throw Error(ErrorCode::signature_missing, "Redirect binding: no Signature/SigAlg parameter");
  if (!policy.signature_method_allowed(*msg.sig_alg))
    throw Error(ErrorCode::algorithm_refused,
                "Redirect binding: SigAlg " + *msg.sig_alg + " refused by policy");
  if (keys.empty()) throw Error(ErrorCode::signature_invalid, "Redirect binding: no key to verify with");
  std::size_t usable = 0;
  for (const PublicKey &key : keys) {
    if (!policy.key_allowed(key)) continue;
    ++usable;
    try {
      if (xmlsec::verify_bytes(key, *msg.sig_alg, msg.signed_octets, *msg.signature)) return;
    } catch (const Error &) {
      // e.g. the key type does not fit SigAlg: try the next key
    }
  }
  if (usable == 0)
    throw Error(ErrorCode::algorithm_refused, "Redirect binding: every trusted key is too weak");
  throw Error(ErrorCode::signature_invalid, "Redirect binding: query signature does not verify");
}

// ---------------------------------------------------------------- HTTP-POST

std::string_view post_form_script() {
  return form_script;
}

std::string post_form_html(std::string_view action_url, MessageKind kind, std::string_view xml,
                           std::string_view relay_state) {
  std::string page;
  page.reserve(xml.size() * 4 / 3 + 1024);
  page.append("<!DOCTYPE html>\n"
              "<html lang=\"de\">\n"
              "<head>\n"
              "<meta charset=\"utf-8\">\n"
              "<meta name=\"referrer\" content=\"no-referrer\">\n"
              "<title>Weiterleitung / Redirect</title>\n"
              "</head>\n"
              "<body>\n"
              "<form method=\"post\" action=\"");
  page.append(html_escape(action_url));
  page.append("\">\n<input type=\"hidden\" name=\"");
  page.append(param_name(kind));
  page.append("\" value=\"");
  page.append(base64_encode(xml)); // [A-Za-z0-9+/=] only: nothing to escape in a quoted attribute
  page.append("\">\n");
  if (!relay_state.empty()) {
    page.append("<input type=\"hidden\" name=\"RelayState\" value=\"");
    page.append(html_escape(relay_state));
    page.append("\">\n");
  }
  page.append(
      "<noscript><p>JavaScript ist ausgeschaltet. Bitte klicken Sie auf \xE2\x80\x9EWeiter\xE2\x80\x9C. / "
      "JavaScript is disabled. Please press \xE2\x80\x9C"
      "Continue\xE2\x80\x9D.</p></noscript>\n"
      "<button type=\"submit\">Weiter / Continue</button>\n"
      "</form>\n"
      "<script>");
  page.append(form_script);
  page.append("</script>\n"
              "</body>\n"
              "</html>\n");
  return page;
}

std::string post_form_csp(std::string_view action_url) {
  std::string csp = "default-src 'none'; script-src '";
  csp.append(form_script_hash());
  csp.append("'; form-action ");
  csp.append(csp_origin(action_url));
  csp.append("; base-uri 'none'; frame-ancestors 'none'");
  return csp;
}

std::string post_decode(std::string_view base64_value, std::size_t max_xml) {
  return b64_decode(base64_value, max_xml);
}

// ---------------------------------------------------------------- pretty

std::string pretty_xml(std::string_view text) {
  xml::ensure_initialized();
  const xml::DocPtr doc = xml::parse(text, std::max<std::size_t>(text.size(), 1));
  xmlNode *root = xmlDocGetRootElement(doc.get());
  if (root != nullptr) strip_blank_text(root);
  return xml::serialize(doc.get(), nullptr, true);
}

} // namespace interkonto

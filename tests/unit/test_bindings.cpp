// SPDX-License-Identifier: EUPL-1.2
#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <functional>
#include <new>
#include <regex>
#include <string>

#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;

// ---- allocation probe: the largest single operator-new request made by this
// thread while tracking is on (to show that a DEFLATE bomb is not inflated
// into a large buffer). Replacing the global (non-aligned) operator new and
// delete is allowed by the standard; the whole set is replaced, so that every
// form pairs with every other (also under AddressSanitizer). They forward to
// malloc/free, which GCC cannot tell apart from a mismatch once inlined.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
thread_local bool g_track_alloc = false;
thread_local std::size_t g_largest_alloc = 0;

void *probe_alloc(std::size_t n) noexcept {
  if (g_track_alloc && n > g_largest_alloc) g_largest_alloc = n;
  return std::malloc(n == 0 ? 1 : n);
}
} // namespace

void *operator new(std::size_t n) {
  if (void *p = probe_alloc(n)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t n) {
  if (void *p = probe_alloc(n)) return p;
  throw std::bad_alloc();
}
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
  return probe_alloc(n);
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
  return probe_alloc(n);
}
void operator delete(void *p) noexcept {
  std::free(p);
}
void operator delete[](void *p) noexcept {
  std::free(p);
}
void operator delete(void *p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void *p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void *p, const std::nothrow_t &) noexcept {
  std::free(p);
}
void operator delete[](void *p, const std::nothrow_t &) noexcept {
  std::free(p);
}

namespace {

struct AllocProbe {
  AllocProbe() {
    g_largest_alloc = 0;
    g_track_alloc = true;
  }
  ~AllocProbe() { g_track_alloc = false; }
  AllocProbe(const AllocProbe &) = delete;
  AllocProbe &operator=(const AllocProbe &) = delete;
  std::size_t largest() const { return g_largest_alloc; }
};

const std::string sample_request =
    R"(<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" )"
    R"(xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_abc" Version="2.0" )"
    R"(IssueInstant="2025-01-01T00:00:00Z"><saml:Issuer>https://sp.example.org</saml:Issuer>)"
    R"(</samlp:AuthnRequest>)";

std::string sha256_b64(std::string_view s) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  REQUIRE(EVP_Digest(s.data(), s.size(), md.data(), &len, EVP_sha256(), nullptr) == 1);
  return base64_encode(std::string_view(reinterpret_cast<const char *>(md.data()), len));
}

// Replaces the value of query parameter `name` (raw) in a raw query.
std::string replace_param(const std::string &query, const std::string &name, const std::string &raw_value) {
  const std::size_t start = query.find(name + "=");
  REQUIRE(start != std::string::npos);
  const std::size_t vstart = start + name.size() + 1;
  std::size_t end = query.find('&', vstart);
  if (end == std::string::npos) end = query.size();
  return query.substr(0, vstart) + raw_value + query.substr(end);
}

} // namespace

// ---------------------------------------------------------------- base64

TEST_CASE("base64: RFC 4648 vectors and round trips", "[bindings]") {
  REQUIRE(base64_encode("") == "");
  REQUIRE(base64_encode("f") == "Zg==");
  REQUIRE(base64_encode("fo") == "Zm8=");
  REQUIRE(base64_encode("foo") == "Zm9v");
  REQUIRE(base64_encode("foob") == "Zm9vYg==");
  REQUIRE(base64_encode("fooba") == "Zm9vYmE=");
  REQUIRE(base64_encode("foobar") == "Zm9vYmFy");
  REQUIRE(base64_decode("Zm9vYmE=") == "fooba");
  REQUIRE(base64_decode("") == "");

  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const std::string part = all.substr(0, n);
    REQUIRE(base64_decode(base64_encode(part)) == part);
  }
  REQUIRE(base64_decode(base64_encode(all)) == all);
}

TEST_CASE("base64: whitespace is ignored", "[bindings]") {
  REQUIRE(base64_decode("Zm9v\r\nYmFy") == "foobar");
  REQUIRE(base64_decode("  Zm 9v\tYm\nE= \n") == "fooba");
}

TEST_CASE("base64: whitespace anywhere, any length, same result as without", "[bindings]") {
  std::uint32_t seed = 12345; // deterministic LCG
  auto next = [&] { return seed = seed * 1103515245u + 12345u; };
  for (std::size_t n = 0; n < 300; ++n) {
    std::string data(n, '\0');
    for (auto &c : data) c = static_cast<char>(next() >> 16);
    const std::string enc = base64_encode(data);
    std::string spaced;
    for (const char c : enc) {
      if ((next() >> 16) % 5 == 0) spaced += " \r\n\t"[(next() >> 16) % 4];
      spaced += c;
    }
    INFO("length " << n);
    REQUIRE(base64_decode(enc) == data);
    REQUIRE(base64_decode(spaced) == data);
  }
  REQUIRE(base64_decode("Zg= =") == "f");
}

TEST_CASE("base64: anything else is malformed", "[bindings]") {
  for (const char *bad : {"Zm9v*mFy", "Zm9", "Zg=", "Z===", "Zg==Zg==", "Zg=a", "Zm-v", "Zm_v",
                          "Zh==", "Zm9=", "=Zm9", "Zm9v\x80", "Zm9vYmFy="}) {
    INFO(bad);
    REQUIRE(code_of([&] { (void)base64_decode(bad); }) == ErrorCode::malformed);
  }
}

TEST_CASE("base64url without padding", "[bindings]") {
  REQUIRE(base64url_encode_nopad("f") == "Zg");
  REQUIRE(base64url_encode_nopad("fo") == "Zm8");
  REQUIRE(base64url_encode_nopad("foo") == "Zm9v");
  REQUIRE(base64url_encode_nopad("\xfb\xff") == "-_8");
  REQUIRE(base64_encode("\xfb\xff") == "+/8=");
}

// ---------------------------------------------------------------- DEFLATE

TEST_CASE("deflate: raw round trip", "[bindings]") {
  REQUIRE(inflate_raw(deflate_raw(sample_request), 4096) == sample_request);
  REQUIRE(inflate_raw(deflate_raw(""), 16).empty());
  std::string big;
  for (int i = 0; i < 20000; ++i) big += std::to_string(i * 7919 % 10007) + ",";
  REQUIRE(inflate_raw(deflate_raw(big), big.size()) == big);
  // The limit is inclusive: exactly that many bytes pass, one less does not.
  REQUIRE(code_of([&] { (void)inflate_raw(deflate_raw(big), big.size() - 1); }) == ErrorCode::too_large);
}

TEST_CASE("deflate: corrupt, truncated or wrapped data is malformed", "[bindings]") {
  const std::string d = deflate_raw(sample_request);
  REQUIRE(code_of([&] { (void)inflate_raw("\xff\xff\xff\xff garbage", 4096); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)inflate_raw(d.substr(0, d.size() / 2), 4096); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)inflate_raw(d + "trailing", 4096); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)inflate_raw("", 4096); }) == ErrorCode::malformed);
}

TEST_CASE("deflate: a bomb stops at the limit without a large allocation", "[bindings]") {
  const std::string bomb = deflate_raw(std::string(10 * 1024 * 1024, '\0'));
  REQUIRE(bomb.size() < 64 * 1024);
  {
    // Control: the probe does see a large allocation.
    AllocProbe probe;
    std::string big(2 * 1024 * 1024, 'x');
    REQUIRE(probe.largest() >= big.size());
  }
  std::size_t largest = 0;
  ErrorCode code = ErrorCode::internal;
  {
    AllocProbe probe;
    try {
      (void)inflate_raw(bomb, 256 * 1024);
    } catch (const Error &e) {
      code = e.code();
    }
    largest = probe.largest();
  }
  REQUIRE(code == ErrorCode::too_large);
  REQUIRE(largest > 0);            // the probe saw the output buffer
  REQUIRE(largest <= 1024 * 1024); // but never a buffer for the 10 MB

  // The same through the Redirect binding decoder.
  const std::string query = "SAMLRequest=" + url_encode(base64_encode(bomb));
  {
    AllocProbe probe;
    try {
      (void)redirect_decode(query, 256 * 1024);
      code = ErrorCode::internal;
    } catch (const Error &e) {
      code = e.code();
    }
    largest = probe.largest();
  }
  REQUIRE(code == ErrorCode::too_large);
  REQUIRE(largest <= 1024 * 1024);
}

// ---------------------------------------------------------------- URL, HTML

TEST_CASE("url: encode keeps only unreserved bytes", "[bindings]") {
  REQUIRE(url_encode("aZ09-._~") == "aZ09-._~");
  REQUIRE(url_encode("a b&c=d/e+f?\xC3\xA9") == "a%20b%26c%3Dd%2Fe%2Bf%3F%C3%A9");
  REQUIRE(url_encode(std::string("\0\xff", 2)) == "%00%FF");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  REQUIRE(url_decode(url_encode(all)) == all);
}

TEST_CASE("url: strict decoding", "[bindings]") {
  REQUIRE(url_decode("a+b%2b%2Bc") == "a b++c");
  REQUIRE(url_decode("a+b", false) == "a+b");
  REQUIRE(url_decode("%c3%A9") == "\xC3\xA9");
  for (const char *bad : {"%", "%4", "a%zz", "%4g", "%%41", "abc%"}) {
    INFO(bad);
    REQUIRE(code_of([&] { (void)url_decode(bad); }) == ErrorCode::malformed);
  }
}

TEST_CASE("url: parse_query", "[bindings]") {
  const auto q = parse_query("a=1&b=x%20y+z&&c&d=&e=%3D=");
  REQUIRE(q.size() == 5);
  REQUIRE(q[0] == std::pair<std::string, std::string>("a", "1"));
  REQUIRE(q[1] == std::pair<std::string, std::string>("b", "x y z"));
  REQUIRE(q[2] == std::pair<std::string, std::string>("c", ""));
  REQUIRE(q[3] == std::pair<std::string, std::string>("d", ""));
  REQUIRE(q[4] == std::pair<std::string, std::string>("e", "=="));
  const auto raw = parse_query("a=1&b=x%20y", true);
  REQUIRE(raw.size() == 2);
  REQUIRE(raw[1].second == "x%20y");
  REQUIRE(parse_query("").empty());
  REQUIRE(code_of([] { (void)parse_query("a=%g0"); }) == ErrorCode::malformed);
}

TEST_CASE("html_escape", "[bindings]") {
  REQUIRE(html_escape(R"(<a href="x">'&'</a>)") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  REQUIRE(html_escape("plain") == "plain");
}

// ---------------------------------------------------------------- HTTP-Redirect

TEST_CASE("redirect: unsigned round trip", "[bindings]") {
  const std::string q = redirect_encode(MessageKind::request, sample_request, "/home?a=1 b", nullptr, {});
  REQUIRE(q.rfind("SAMLRequest=", 0) == 0);
  REQUIRE(q.find("&RelayState=%2Fhome%3Fa%3D1%20b") != std::string::npos);
  REQUIRE(q.find("SigAlg") == std::string::npos);
  const RedirectMessage m = redirect_decode(q);
  REQUIRE(m.kind == MessageKind::request);
  REQUIRE(m.xml == sample_request);
  REQUIRE(m.relay_state == std::optional<std::string>("/home?a=1 b"));
  REQUIRE_FALSE(m.sig_alg.has_value());
  REQUIRE_FALSE(m.signature.has_value());
  REQUIRE(code_of([&] { redirect_verify(m, {test::rsa_key(2048).public_key()}, AlgorithmPolicy{}); }) ==
          ErrorCode::signature_missing);

  const RedirectMessage r = redirect_decode(redirect_encode(MessageKind::response, "<x/>", "", nullptr, {}));
  REQUIRE(r.kind == MessageKind::response);
  REQUIRE(r.xml == "<x/>");
  REQUIRE_FALSE(r.relay_state.has_value());
}

TEST_CASE("redirect: duplicate or conflicting SAML parameters are malformed", "[bindings]") {
  const std::string q = redirect_encode(MessageKind::request, sample_request, "rs", nullptr, {});
  const std::string value = q.substr(12, q.find('&') - 12);
  REQUIRE(code_of([&] { (void)redirect_decode(q + "&SAMLRequest=" + value); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)redirect_decode(q + "&SAML%52equest=" + value); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)redirect_decode(q + "&RelayState=other"); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)redirect_decode(q + "&SigAlg=a&SigAlg=b"); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)redirect_decode(q + "&Signature=AA%3D%3D&Signature=AA%3D%3D"); }) ==
          ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)redirect_decode(q + "&SAMLResponse=" + value); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)redirect_decode("RelayState=x"); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)redirect_decode("SAMLRequest=%%%"); }) == ErrorCode::malformed);
  REQUIRE(code_of([&] { (void)redirect_decode("SAMLRequest=not*base64"); }) == ErrorCode::malformed);
  // Unrelated parameters are ignored.
  REQUIRE(redirect_decode("foo=bar&" + q + "&x=1").xml == sample_request);
}

TEST_CASE("redirect: signed round trip with RSA-SHA256 and ECDSA", "[bindings]") {
  struct Case {
    PrivateKey key;
    std::string_view alg;
  };
  const std::vector<Case> cases = {{test::rsa_key(2048), alg::rsa_sha256},
                                   {test::ec_key("prime256v1"), alg::ecdsa_sha256},
                                   {test::ec_key("secp384r1"), alg::ecdsa_sha384}};
  for (const Case &c : cases) {
    INFO(c.alg);
    const std::string q = redirect_encode(MessageKind::request, sample_request, "state-1", &c.key, c.alg);
    const std::size_t sig_at = q.find("&Signature=");
    REQUIRE(sig_at != std::string::npos);
    const RedirectMessage m = redirect_decode(q);
    REQUIRE(m.signed_octets == q.substr(0, sig_at));
    REQUIRE(m.signed_octets.find("SAMLRequest=") == 0);
    REQUIRE(m.signed_octets.find("&RelayState=state-1&SigAlg=") != std::string::npos);
    REQUIRE(m.sig_alg == std::optional<std::string>(std::string(c.alg)));
    REQUIRE(m.xml == sample_request);
    REQUIRE_NOTHROW(redirect_verify(m, {c.key.public_key()}, AlgorithmPolicy{}));
    // Any one of several keys suffices.
    const std::vector<PublicKey> others{test::rsa_key(2048, 1).public_key(),
                                        test::ec_key("prime256v1", 1).public_key()};
    std::vector<PublicKey> several = others;
    several.push_back(c.key.public_key());
    REQUIRE_NOTHROW(redirect_verify(m, several, AlgorithmPolicy{}));
    // Different keys do not.
    REQUIRE(code_of([&] { redirect_verify(m, others, AlgorithmPolicy{}); }) == ErrorCode::signature_invalid);
    REQUIRE(code_of([&] { redirect_verify(m, {}, AlgorithmPolicy{}); }) == ErrorCode::signature_invalid);
  }
}

TEST_CASE("redirect: a changed byte breaks the signature", "[bindings]") {
  const PrivateKey key = test::rsa_key(2048);
  const std::vector<PublicKey> keys{key.public_key()};
  const std::string q =
      redirect_encode(MessageKind::request, sample_request, "state-1", &key, alg::rsa_sha256);
  REQUIRE_NOTHROW(redirect_verify(redirect_decode(q), keys, AlgorithmPolicy{}));

  const std::string relay_changed = replace_param(q, "RelayState", "state-2");
  REQUIRE(code_of([&] { redirect_verify(redirect_decode(relay_changed), keys, AlgorithmPolicy{}); }) ==
          ErrorCode::signature_invalid);
  // Another message under the old signature.
  const std::string other =
      redirect_encode(MessageKind::request, sample_request + " ", "state-1", nullptr, {});
  const std::string msg_changed = replace_param(q, "SAMLRequest", other.substr(12, other.find('&') - 12));
  REQUIRE(code_of([&] { redirect_verify(redirect_decode(msg_changed), keys, AlgorithmPolicy{}); }) ==
          ErrorCode::signature_invalid);
  // RelayState dropped.
  std::string dropped = q;
  dropped.erase(dropped.find("&RelayState=state-1"), std::string("&RelayState=state-1").size());
  REQUIRE(code_of([&] { redirect_verify(redirect_decode(dropped), keys, AlgorithmPolicy{}); }) ==
          ErrorCode::signature_invalid);
  // Signature without SigAlg.
  std::string no_alg = q;
  const std::size_t a = no_alg.find("&SigAlg=");
  no_alg.erase(a, no_alg.find("&Signature=") - a);
  REQUIRE(code_of([&] { redirect_verify(redirect_decode(no_alg), keys, AlgorithmPolicy{}); }) ==
          ErrorCode::signature_missing);
}

TEST_CASE("redirect: SHA-1 SigAlg is refused before verifying", "[bindings]") {
  const PrivateKey key = test::rsa_key(2048);
  const std::string q = redirect_encode(MessageKind::request, sample_request, "s", &key, alg::rsa_sha256);
  const std::string sha1 = replace_param(q, "SigAlg", url_encode(alg::rsa_sha1));
  REQUIRE(code_of([&] { redirect_verify(redirect_decode(sha1), {key.public_key()}, AlgorithmPolicy{}); }) ==
          ErrorCode::algorithm_refused);
  const std::string unknown = replace_param(q, "SigAlg", url_encode("urn:example:no-such-algorithm"));
  REQUIRE(code_of([&] {
            redirect_verify(redirect_decode(unknown), {key.public_key()}, AlgorithmPolicy{});
          }) == ErrorCode::algorithm_refused);
}

TEST_CASE("redirect: the signature covers the raw bytes as received", "[bindings]") {
  const PrivateKey key = test::rsa_key(2048);
  const std::vector<PublicKey> keys{key.public_key()};
  // A sender that encodes differently: lower-case escapes, '+' for space,
  // '/' left unescaped. The signature is over its own bytes.
  const std::string b64 = base64_encode(deflate_raw(sample_request));
  std::string sender_value;
  for (const char c : b64) {
    if (c == '+')
      sender_value += "%2b";
    else if (c == '/')
      sender_value += "/";
    else if (c == '=')
      sender_value += "%3d";
    else
      sender_value.push_back(c);
  }
  const std::string signed_part = "SAMLRequest=" + sender_value + "&RelayState=a+b%2fc&SigAlg=" +
                                  "http%3a%2f%2fwww.w3.org%2f2001%2f04%2fxmldsig-more%23rsa-sha256";
  const std::string sig = xmlsec::sign_bytes(key, alg::rsa_sha256, signed_part);
  const std::string as_sent = signed_part + "&Signature=" + url_encode(base64_encode(sig));

  const RedirectMessage m = redirect_decode(as_sent);
  REQUIRE(m.signed_octets == signed_part);
  REQUIRE(m.xml == sample_request);
  REQUIRE(m.relay_state == std::optional<std::string>("a b/c"));
  REQUIRE(m.sig_alg == std::optional<std::string>(std::string(alg::rsa_sha256)));
  REQUIRE_NOTHROW(redirect_verify(m, keys, AlgorithmPolicy{}));

  // The same parameters, equivalently but canonically re-encoded, do not
  // match the signature: only the raw bytes count.
  const std::string reencoded = "SAMLRequest=" + url_encode(b64) + "&RelayState=" + url_encode("a b/c") +
                                "&SigAlg=" + url_encode(alg::rsa_sha256) +
                                "&Signature=" + url_encode(base64_encode(sig));
  const RedirectMessage m2 = redirect_decode(reencoded);
  REQUIRE(m2.xml == m.xml);
  REQUIRE(m2.relay_state == m.relay_state);
  REQUIRE(m2.signed_octets != m.signed_octets);
  REQUIRE(code_of([&] { redirect_verify(m2, keys, AlgorithmPolicy{}); }) == ErrorCode::signature_invalid);

  // Parameter order in the query does not matter; the signed octets are
  // rebuilt in the order the binding prescribes.
  const std::string reordered = "Signature=" + url_encode(base64_encode(sig)) + "&SigAlg=" +
                                "http%3a%2f%2fwww.w3.org%2f2001%2f04%2fxmldsig-more%23rsa-sha256" +
                                "&RelayState=a+b%2fc&SAMLRequest=" + sender_value;
  const RedirectMessage m3 = redirect_decode(reordered);
  REQUIRE(m3.signed_octets == signed_part);
  REQUIRE_NOTHROW(redirect_verify(m3, keys, AlgorithmPolicy{}));
}

// ---------------------------------------------------------------- HTTP-POST

TEST_CASE("post: the form page and its CSP", "[bindings]") {
  const std::string action = "https://sp.example.org:8443/saml/acs?x=1&y=\"2\"";
  const std::string relay = "<script>alert('x')</script>";
  const std::string page = post_form_html(action, MessageKind::response, sample_request, relay);
  const std::string csp = post_form_csp(action);

  REQUIRE(page.rfind("<!DOCTYPE html>", 0) == 0);
  REQUIRE(
      page.find(
          "<form method=\"post\" action=\"https://sp.example.org:8443/saml/acs?x=1&amp;y=&quot;2&quot;\">") !=
      std::string::npos);
  REQUIRE(page.find("name=\"SAMLResponse\" value=\"" + base64_encode(sample_request) + "\"") !=
          std::string::npos);
  REQUIRE(page.find("name=\"RelayState\" value=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\"") !=
          std::string::npos);
  REQUIRE(page.find("<button type=\"submit\">Weiter") != std::string::npos);
  REQUIRE(page.find("<noscript>") != std::string::npos);
  // No inline event handler, no javascript: URL, no style.
  REQUIRE_FALSE(std::regex_search(page, std::regex(R"(\son[a-zA-Z]+\s*=)")));
  REQUIRE(page.find("javascript:") == std::string::npos);
  REQUIRE(page.find("style") == std::string::npos);

  // Exactly one script, and its hash is what the CSP allows.
  const std::size_t s1 = page.find("<script>");
  REQUIRE(s1 != std::string::npos);
  REQUIRE(page.find("<script", s1 + 1) == std::string::npos);
  const std::size_t body = s1 + std::string("<script>").size();
  const std::size_t s2 = page.find("</script>", body);
  REQUIRE(s2 != std::string::npos);
  const std::string script = page.substr(body, s2 - body);
  REQUIRE(script == post_form_script());
  REQUIRE(csp.find("script-src 'sha256-" + sha256_b64(script) + "'") != std::string::npos);

  REQUIRE(csp.rfind("default-src 'none'; ", 0) == 0);
  REQUIRE(csp.find("form-action https://sp.example.org:8443;") != std::string::npos);
  REQUIRE(csp.find("base-uri 'none'") != std::string::npos);
  REQUIRE(csp.find("frame-ancestors 'none'") != std::string::npos);
  REQUIRE(csp.find("unsafe") == std::string::npos);

  const std::string req_page =
      post_form_html("https://idp.example.org/sso", MessageKind::request, "<x/>", "");
  REQUIRE(req_page.find("name=\"SAMLRequest\"") != std::string::npos);
  REQUIRE(req_page.find("RelayState") == std::string::npos);
}

TEST_CASE("post: CSP form-action origin", "[bindings]") {
  REQUIRE(post_form_csp("HTTP://SP.Example.ORG/acs").find("form-action http://sp.example.org;") !=
          std::string::npos);
  REQUIRE(post_form_csp("http://127.0.0.1:8080").find("form-action http://127.0.0.1:8080;") !=
          std::string::npos);
  REQUIRE(post_form_csp("https://[::1]:8443/acs").find("form-action https://[::1]:8443;") !=
          std::string::npos);
  REQUIRE(post_form_csp("/saml/acs").find("form-action 'self';") != std::string::npos);
  for (const char *bad : {"javascript:alert(1)", "https://evil\"; script-src *;/", "https://a b/",
                          "//host/acs", "ftp://host/", "https:///acs", "https://user@host/"}) {
    INFO(bad);
    REQUIRE(code_of([&] { (void)post_form_csp(bad); }) == ErrorCode::config_invalid);
  }
}

TEST_CASE("post: decode with limit", "[bindings]") {
  const std::string b64 = base64_encode(sample_request);
  std::string wrapped;
  for (std::size_t i = 0; i < b64.size(); i += 76) wrapped += b64.substr(i, 76) + "\r\n";
  REQUIRE(post_decode(wrapped) == sample_request);
  REQUIRE(post_decode(b64, sample_request.size()) == sample_request);
  REQUIRE(code_of([&] { (void)post_decode(b64, sample_request.size() - 1); }) == ErrorCode::too_large);
  REQUIRE(code_of([&] { (void)post_decode(b64 + "!"); }) == ErrorCode::malformed);
  // A huge value is refused before it is decoded.
  const std::string huge(4 * 1024 * 1024, 'A');
  AllocProbe probe;
  REQUIRE(code_of([&] { (void)post_decode(huge); }) == ErrorCode::too_large);
  REQUIRE(probe.largest() < 1024 * 1024);
}

TEST_CASE("pretty_xml indents and stays safe", "[bindings]") {
  const std::string pretty = pretty_xml("<a>\n <b>x</b>   <c><d>y</d></c></a>");
  REQUIRE(pretty.find("<a>\n  <b>x</b>\n  <c>\n    <d>y</d>\n  </c>\n</a>") != std::string::npos);
  REQUIRE(code_of([] { (void)pretty_xml("<a><b></a>"); }) == ErrorCode::malformed);
  REQUIRE(code_of([] { (void)pretty_xml("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>"); }) ==
          ErrorCode::dtd_forbidden);
}

// SPDX-License-Identifier: EUPL-1.2
// bench_metadata: loading a signed federation aggregate, interkonto against
// Lasso 2.8.1's lasso_server_load_metadata, in one run. Prints numbers and
// ratios only; there is no pass/fail threshold (machines are noisy; compare
// within one run). See tests/bench/README.md.
//
// The benchmark generates eduGAIN-like aggregates (1,000 / 5,000 / 10,000
// entities of about 5.7 KB: mdui, entity attributes, registration info,
// organization, three contacts, a signing and an encryption certificate,
// endpoints; IdPs and SPs mixed), signs them with interkonto::sign_aggregate
// and caches them in a work directory. Every measurement runs in a child
// process (this binary re-executed with --child), so peaks of one size do
// not mix with the next, and Lasso gets its own environment
// (SSL_CERT_FILE=/dev/null: the tuning from lasso-notes.md).
//
//   ik-load      read file + load_aggregate (verify + parse + model), RSS
//                and peak, lookups by entityID and SHA-1, stage breakdown
//   lasso        lasso_server_load_metadata for role IdP, then for role SP
//                (Lasso loads one role per call), RSS and peak
//   ik-refresh   MetadataProvider: first load + 9 refreshes of the same
//                aggregate, RSS after each
//   ik-login     ResponseValidator::validate in a loop (IdP from the
//                provider's current snapshot) while another thread refreshes
//                the provider: latency with and without the refresh, both
//                threads on one core, or on two cores

// glib, libxml2 and xmlsec before lasso/lasso.h (its extern "C" block would
// otherwise wrap glib's C++ templates).
#include <glib-object.h>
#include <glib.h>
#include <libxml/tree.h>
#include <xmlsec/xmlsec.h>

#include <lasso/lasso.h>
// errors.h has no extern "C" block of its own.
extern "C" {
#include <lasso/errors.h>
}

#include <openssl/crypto.h>

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/metadata_provider.hpp"
#include "interkonto/sp.hpp"
#include "unit/saml_fixture.hpp"
#include "unit/test_keys.hpp"

extern char **environ;

namespace {

using namespace interkonto;
namespace fs = std::filesystem;

// Bump when the generated documents change: cached files are regenerated.
constexpr int kFormatVersion = 5;
constexpr int kCertPool = 200;
constexpr auto kValidFor = std::chrono::hours(24 * 30);
constexpr auto kRegenerateWhenLeft = std::chrono::hours(24 * 3);

// ---------------------------------------------------------------- options

struct Options {
  std::vector<int> sizes = {1000, 5000, 10000};
  int reps = 3;
  int cpu = 0;  // -1: do not pin
  int cpu2 = 1; // second core for the two-core login test; -1: skip it
  std::string workdir;
  bool lasso_default = false; // also untuned Lasso, 1,000 entities only (~45 s)
  bool skip_lasso = false;
  bool skip_login = false;
  bool regenerate = false;
  bool generate_only = false;
  int refreshes = 10;
  int login_refreshes = 5;
  double login_seconds = 2.0;
  int lookups = 1'000'000;
  int refresh_size = 5000;
  std::string only; // "ik-load": one in-process load (profilers)
  // child mode
  std::string child;
  int size = 0;
  std::string variant; // ik-load: "all" | "idp"; ik-login: "same" | "two"; lasso: "tuned" | "default"
  std::string file;    // lasso: a file to load instead of the aggregate (tamper check)
};

std::string default_workdir() {
  const char *t = std::getenv("TMPDIR");
  return (fs::path(t && *t ? t : "/tmp") / "interkonto-bench-metadata").string();
}

[[noreturn]] void usage(int rc) {
  std::fputs(
      "usage: bench_metadata [--sizes 1000,5000,10000] [--reps N] [--cpu C|-1] [--cpu2 C|-1]\n"
      "                      [--workdir DIR] [--regenerate] [--generate] [--quick]\n"
      "                      [--skip-lasso] [--lasso-default] [--skip-login]\n"
      "                      [--refreshes N] [--refresh-size N] [--login-seconds S] [--login-refreshes N]\n"
      "                      [--lookups N] [--only ik-load --size N]\n"
      "Loads signed eduGAIN-like aggregates with interkonto and with Lasso's\n"
      "lasso_server_load_metadata (SSL_CERT_FILE=/dev/null); prints times, memory, ratios.\n",
      rc == 0 ? stdout : stderr);
  std::exit(rc);
}

std::vector<int> parse_sizes(const std::string &s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(std::max(10, std::stoi(item)));
  if (out.empty()) usage(2);
  return out;
}

Options parse_options(int argc, char **argv) {
  Options o;
  o.workdir = default_workdir();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--sizes")
      o.sizes = parse_sizes(value());
    else if (a == "--reps")
      o.reps = std::max(1, std::stoi(value()));
    else if (a == "--cpu")
      o.cpu = std::stoi(value());
    else if (a == "--cpu2")
      o.cpu2 = std::stoi(value());
    else if (a == "--workdir")
      o.workdir = value();
    else if (a == "--regenerate")
      o.regenerate = true;
    else if (a == "--generate")
      o.generate_only = true;
    else if (a == "--skip-lasso")
      o.skip_lasso = true;
    else if (a == "--lasso-default")
      o.lasso_default = true;
    else if (a == "--skip-login")
      o.skip_login = true;
    else if (a == "--refreshes")
      o.refreshes = std::clamp(std::stoi(value()), 2, 100);
    else if (a == "--refresh-size")
      o.refresh_size = std::max(10, std::stoi(value()));
    else if (a == "--login-seconds")
      o.login_seconds = std::clamp(std::stod(value()), 0.2, 60.0);
    else if (a == "--login-refreshes")
      o.login_refreshes = std::clamp(std::stoi(value()), 1, 50);
    else if (a == "--lookups")
      o.lookups = std::clamp(std::stoi(value()), 1000, 100'000'000);
    else if (a == "--quick") {
      o.sizes = {1000, 5000};
      o.reps = 1;
      o.refreshes = 3;
      o.login_refreshes = 2;
      o.login_seconds = 0.5;
      o.lookups = 200'000;
    } else if (a == "--only")
      o.only = value();
    else if (a == "--size")
      o.size = std::max(10, std::stoi(value()));
    else if (a == "--child")
      o.child = value();
    else if (a == "--variant")
      o.variant = value();
    else if (a == "--file")
      o.file = value();
    else if (a == "--help" || a == "-h")
      usage(0);
    else {
      std::fprintf(stderr, "bench_metadata: unknown option %s\n", a.c_str());
      usage(2);
    }
  }
  return o;
}

// ---------------------------------------------------------------- measuring

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A field of /proc/self/status in kB (VmRSS, VmHWM), -1 when absent.
long status_kb(const char *field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(f, line))
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  return -1;
}

void trim_heap() {
  malloc_trim(0);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

void pin_thread(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
    throw std::runtime_error(fmt::format("cannot pin to CPU {}", cpu));
}

std::string thousands(double v) {
  const auto n = static_cast<long long>(v + (v < 0 ? -0.5 : 0.5));
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return n < 0 ? "-" + s : s;
}

// ---------------------------------------------------------------- files

void write_file(const fs::path &p, const std::string &content) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << content;
    if (!f) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, p);
}

std::string read_file(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + p.string());
  std::string out;
  f.seekg(0, std::ios::end);
  out.resize(static_cast<std::size_t>(f.tellg()));
  f.seekg(0);
  f.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (!f) throw std::runtime_error("cannot read " + p.string());
  return out;
}

fs::path aggregate_path(const fs::path &dir, int n) {
  return dir / fmt::format("aggregate-{}.xml", n);
}
fs::path tampered_path(const fs::path &dir, int n) {
  return dir / fmt::format("aggregate-{}-tampered.xml", n);
}

// ---------------------------------------------------------------- generator

// Certificates from a pool (distinct certificates, round-robin): parsing
// costs the same per occurrence whether or not a certificate repeats.
std::string wrapped_base64(const Certificate &c) {
  const std::string b64 = c.base64();
  std::string out = "\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out;
}

// ASCII: they also appear in host names and entityIDs.
constexpr const char *kCities[] = {"Aachen",     "Bamberg",   "Chemnitz",  "Dresden", "Erfurt",    "Freiburg",
                                   "Goettingen", "Hannover",  "Ilmenau",   "Jena",    "Kiel",      "Leipzig",
                                   "Mainz",      "Nuernberg", "Oldenburg", "Potsdam", "Rostock",   "Siegen",
                                   "Trier",      "Ulm",       "Wuerzburg", "Zwickau", "Lueneburg", "Passau"};
constexpr const char *kFeds[] = {"dfn-aai", "edugate", "incommon", "sir",
                                 "haka",    "swamid",  "aconet",   "ukfed"};

struct EntityParts {
  std::string entity_id;
  bool idp = false;
};

// One EntityDescriptor of about 5.7 KB (with the namespace declarations the
// signed aggregate carries on every entity). `sign` and `enc` are wrapped
// base64 certificates.
std::string entity_xml(int i, const EntityParts &p, const std::string &sign, const std::string &enc) {
  const char *city = kCities[static_cast<std::size_t>(i) % std::size(kCities)];
  const char *fed = kFeds[static_cast<std::size_t>(i / 7) % std::size(kFeds)];
  const std::string host = fmt::format("{}.hs{}-{}.example", p.idp ? "idp" : "sp", i, city);
  const std::string org_de = fmt::format("Hochschule {} Nr. {}", city, i);
  const std::string org_en = fmt::format("University of {} No. {}", city, i);
  const std::string org_host = fmt::format("hs{}-{}", i, city);
  std::string x;
  x.reserve(6000);
  x += fmt::format(R"(<md:EntityDescriptor entityID="{}">
<md:Extensions>
<mdrpi:RegistrationInfo registrationAuthority="https://www.{}.example/" registrationInstant="2019-0{}-1{}T08:00:00Z"/>
<mdattr:EntityAttributes>
<saml:Attribute Name="http://macedir.org/entity-category{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>http://refeds.org/category/research-and-scholarship</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="urn:oasis:names:tc:SAML:attribute:assurance-certification" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue>https://refeds.org/sirtfi</saml:AttributeValue></saml:Attribute>
</mdattr:EntityAttributes>
</md:Extensions>
)",
                   p.entity_id, fed, 1 + i % 9, i % 10, p.idp ? "-support" : "");
  const std::string ui = fmt::format(
      R"(<mdui:UIInfo>
<mdui:DisplayName xml:lang="de">{0}</mdui:DisplayName>
<mdui:DisplayName xml:lang="en">{1}</mdui:DisplayName>
<mdui:Description xml:lang="de">{2} der {0}</mdui:Description>
<mdui:Description xml:lang="en">{3} of the {1}</mdui:Description>
<mdui:InformationURL xml:lang="de">https://www.{4}.example/de/it</mdui:InformationURL>
<mdui:InformationURL xml:lang="en">https://www.{4}.example/en/it</mdui:InformationURL>
<mdui:Logo height="60" width="200">https://www.{4}.example/logo.png</mdui:Logo>
</mdui:UIInfo>
)",
      org_de, org_en, p.idp ? "Login" : "Dienst", p.idp ? "Login" : "Service", org_host);
  const std::string keys = fmt::format(
      R"(<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>
</md:KeyDescriptor>
)",
      sign, enc);
  if (p.idp) {
    x +=
        fmt::format(R"(<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:Extensions>
<shibmd:Scope regexp="false">{1}.example</shibmd:Scope>
{3}</md:Extensions>
{4}<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://{0}/idp/profile/SAML2/Redirect/SLO"/>
<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://{0}/idp/profile/SAML2/POST/SSO"/>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://{0}/idp/profile/SAML2/Redirect/SSO"/>
</md:IDPSSODescriptor>
)",
                    host, org_host, "", ui, keys);
  } else {
    x += fmt::format(R"(<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:Extensions>
<idpdisc:DiscoveryResponse Binding="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol" Location="https://{0}/Shibboleth.sso/Login" index="1"/>
{1}</md:Extensions>
{2}<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://{0}/Shibboleth.sso/SAML2/POST" index="1"/>
<md:AttributeConsumingService index="1">
<md:ServiceName xml:lang="de">Dienst {3}</md:ServiceName>
<md:ServiceName xml:lang="en">Service {3}</md:ServiceName>
<md:RequestedAttribute FriendlyName="eduPersonPrincipalName" Name="urn:oid:1.3.6.1.4.1.5923.1.1.1.6" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" isRequired="true"/>
</md:AttributeConsumingService>
</md:SPSSODescriptor>
)",
                     host, ui, keys, i);
  }
  x += fmt::format(R"(<md:Organization>
<md:OrganizationName xml:lang="de">{0}</md:OrganizationName>
<md:OrganizationDisplayName xml:lang="de">{0}</md:OrganizationDisplayName>
<md:OrganizationDisplayName xml:lang="en">{1}</md:OrganizationDisplayName>
<md:OrganizationURL xml:lang="de">https://www.{2}.example/</md:OrganizationURL>
</md:Organization>
<md:ContactPerson contactType="technical"><md:GivenName>IT-Service</md:GivenName><md:EmailAddress>mailto:aai@{2}.example</md:EmailAddress></md:ContactPerson>
<md:ContactPerson contactType="support"><md:EmailAddress>mailto:support@{2}.example</md:EmailAddress></md:ContactPerson>
<md:ContactPerson contactType="other" remd:contactType="http://refeds.org/metadata/contactType/security"><md:EmailAddress>mailto:cert@{2}.example</md:EmailAddress></md:ContactPerson>
</md:EntityDescriptor>
)",
                   org_de, org_en, org_host);
  return x;
}

// The test IdP that signs the benchmark's responses (ik-login): it stands in
// the aggregate as one IdP entity among the others.
std::string test_idp_entity_xml(const Certificate &cert, const std::string &enc) {
  return fmt::format(R"(<md:EntityDescriptor entityID="{0}">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:Extensions><mdui:UIInfo><mdui:DisplayName xml:lang="de">Servicekonto NRW</mdui:DisplayName><mdui:DisplayName xml:lang="en">Servicekonto NRW</mdui:DisplayName></mdui:UIInfo></md:Extensions>
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{1}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{2}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{0}/sso"/>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{0}/sso"/>
</md:IDPSSODescriptor>
<md:Organization><md:OrganizationName xml:lang="de">IT.NRW</md:OrganizationName><md:OrganizationDisplayName xml:lang="de">Servicekonto NRW</md:OrganizationDisplayName><md:OrganizationURL xml:lang="de">https://idp.nrw.example/</md:OrganizationURL></md:Organization>
<md:ContactPerson contactType="technical"><md:EmailAddress>mailto:saml@idp.nrw.example</md:EmailAddress></md:ContactPerson>
</md:EntityDescriptor>
)",
                     test::kIdp, wrapped_base64(cert), enc);
}

constexpr const char *kRootOpen =
    R"(<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" )"
    R"(xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui" xmlns:mdattr="urn:oasis:names:tc:SAML:metadata:attribute" )"
    R"(xmlns:mdrpi="urn:oasis:names:tc:SAML:metadata:rpi" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" )"
    R"(xmlns:shibmd="urn:mace:shibboleth:metadata:1.0" xmlns:idpdisc="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol" )"
    R"(xmlns:remd="http://refeds.org/metadata">)"
    "\n";

// Entity i is an IdP when i % 5 < 2 (40 % IdPs, 60 % SPs); entity 0 is the
// test IdP.
bool is_idp(int i) {
  return i % 5 < 2;
}

struct Keys {
  Credential federation; // signs the aggregates
  Credential idp;        // the test IdP (signs responses in ik-login)
  std::vector<Certificate> pool;
};

PrivateKey generate_rsa2048() {
  std::unique_ptr<EVP_PKEY_CTX, test::detail::PkeyFree> ctx{
      EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)};
  EVP_PKEY *raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
    throw std::runtime_error("RSA key generation failed");
  return PrivateKey(std::shared_ptr<EVP_PKEY>(raw, test::detail::PkeyFree{}));
}

Credential load_or_make_credential(const fs::path &dir, const std::string &name, const std::string &cn,
                                   bool &made) {
  const fs::path key = dir / (name + ".key.pem"), crt = dir / (name + ".crt.pem");
  if (fs::exists(key) && fs::exists(crt)) return load_credential(key.string(), crt.string());
  const Credential c = test::self_signed_cert(generate_rsa2048(), cn);
  write_file(key, test::pem(c.key));
  write_file(crt, c.certificate->pem());
  made = true;
  return c;
}

// Keys and the certificate pool: made once, kept in the work directory.
Keys load_or_make_keys(const fs::path &dir, bool &made) {
  Credential federation =
      load_or_make_credential(dir, "federation", "FINK metadata signer (benchmark)", made);
  Credential idp = load_or_make_credential(dir, "idp", "idp.nrw.example", made);
  std::vector<Certificate> pool;
  const fs::path pool_file = dir / "cert-pool.pem";
  if (fs::exists(pool_file)) {
    const std::string text = read_file(pool_file);
    const std::string end = "-----END CERTIFICATE-----";
    std::size_t pos = 0;
    while (true) {
      const std::size_t e = text.find(end, pos);
      if (e == std::string::npos) break;
      pool.push_back(Certificate::from_pem(text.substr(pos, e + end.size() - pos)));
      pos = e + end.size();
    }
    if (static_cast<int>(pool.size()) == kCertPool) return Keys{federation, idp, pool};
    pool.clear();
  }
  std::fprintf(stderr, "generating %d RSA-2048 keys and certificates (once; cached in %s) ...\n", kCertPool,
               dir.c_str());
  std::vector<std::optional<PrivateKey>> keys(kCertPool);
  auto work = [&](int from, int step) {
    for (int i = from; i < kCertPool; i += step) keys[static_cast<std::size_t>(i)] = generate_rsa2048();
  };
  std::thread t(work, 1, 2);
  work(0, 2);
  t.join();
  std::string pem;
  for (int i = 0; i < kCertPool; ++i) {
    const Credential c = test::self_signed_cert(*keys[static_cast<std::size_t>(i)],
                                                fmt::format("sp-or-idp-{:03}.example.org", i));
    pool.push_back(*c.certificate);
    pem += c.certificate->pem();
  }
  write_file(pool_file, pem);
  made = true;
  return Keys{federation, idp, pool};
}

// The unsigned EntitiesDescriptor with n entities.
std::string unsigned_aggregate(int n, const Keys &k) {
  std::vector<std::string> wrapped;
  for (const auto &c : k.pool) wrapped.push_back(wrapped_base64(c));
  std::string doc = kRootOpen;
  doc.reserve(static_cast<std::size_t>(n) * 5400 + 1000);
  for (int i = 0; i < n; ++i) {
    const std::string &sign = wrapped[static_cast<std::size_t>(2 * i) % wrapped.size()];
    const std::string &enc = wrapped[static_cast<std::size_t>(2 * i + 1) % wrapped.size()];
    if (i == 0) {
      doc += test_idp_entity_xml(*k.idp.certificate, enc);
      continue;
    }
    EntityParts p;
    p.idp = is_idp(i);
    p.entity_id = fmt::format("https://{}.hs{}-{}.example/{}", p.idp ? "idp" : "sp", i,
                              kCities[static_cast<std::size_t>(i) % std::size(kCities)],
                              p.idp ? "idp/shibboleth" : "shibboleth");
    doc += entity_xml(i, p, sign, enc);
  }
  doc += "</md:EntitiesDescriptor>\n";
  return doc;
}

int count_idps(int n) {
  int c = 0;
  for (int i = 0; i < n; ++i) c += is_idp(i) ? 1 : 0;
  return c;
}

struct Manifest {
  int version = 0;
  std::map<int, long long> valid_until; // size -> validUntil (seconds since epoch)
};

Manifest read_manifest(const fs::path &dir) {
  Manifest m;
  std::ifstream f(dir / "manifest.txt");
  std::string word;
  if (!(f >> word >> m.version) || word != "version") return {};
  int n = 0;
  long long vu = 0;
  while (f >> n >> vu) m.valid_until[n] = vu;
  return m;
}

void write_manifest(const fs::path &dir, const Manifest &m) {
  std::string s = fmt::format("version {}\n", m.version);
  for (const auto &[n, vu] : m.valid_until) s += fmt::format("{} {}\n", n, vu);
  write_file(dir / "manifest.txt", s);
}

TimePoint now_ms() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// Generates (or reuses) the signed aggregates of the given sizes; the
// tampered copy of the smallest one proves that both sides verify.
Keys ensure_generated(const Options &opt, std::vector<int> sizes) {
  const fs::path dir = opt.workdir;
  fs::create_directories(dir);
  bool made = false;
  Keys k = load_or_make_keys(dir, made);
  Manifest m = read_manifest(dir);
  if (made || m.version != kFormatVersion || opt.regenerate) m = Manifest{kFormatVersion, {}};
  const auto now = now_ms();
  const long long now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  for (int n : sizes) {
    auto it = m.valid_until.find(n);
    const bool fresh = it != m.valid_until.end() && it->second - now_s > kRegenerateWhenLeft.count() * 3600 &&
                       fs::exists(aggregate_path(dir, n)) && fs::exists(tampered_path(dir, n));
    if (fresh) continue;
    const double t0 = wall_seconds();
    std::fprintf(stderr, "generating and signing the %s-entity aggregate ...", thousands(n).c_str());
    std::fflush(stderr);
    MetadataSignOptions so{k.federation.key,
                           k.federation.certificate,
                           std::string(alg::rsa_sha256),
                           std::chrono::duration_cast<std::chrono::seconds>(kValidFor),
                           std::chrono::seconds(6 * 3600),
                           "https://fink.example/metadata/benchmark",
                           now};
    const std::string signed_xml = sign_aggregate({unsigned_aggregate(n, k)}, so);
    write_file(aggregate_path(dir, n), signed_xml);
    // One character of one display name changed: the signature must fail.
    std::string tampered = signed_xml;
    const std::size_t pos = tampered.find("Hochschule ");
    if (pos == std::string::npos) throw std::runtime_error("generator: no display name to tamper with");
    tampered[pos] = 'X';
    write_file(tampered_path(dir, n), tampered);
    m.valid_until[n] = now_s + std::chrono::duration_cast<std::chrono::seconds>(kValidFor).count();
    write_manifest(dir, m);
    std::fprintf(stderr, " %.1f s, %s bytes\n", wall_seconds() - t0,
                 thousands(static_cast<double>(signed_xml.size())).c_str());
  }
  return k;
}

AggregateTrust federation_trust(const fs::path &dir) {
  AggregateTrust t;
  t.pinned_keys = {Certificate::from_pem_file((dir / "federation.crt.pem").string()).public_key()};
  t.max_validity = std::chrono::hours(24 * 60);
  return t;
}

// ---------------------------------------------------------------- child output

// A child reports one line "CHILD key=value key=value ...".
class Report {
public:
  template <class T> void add(const std::string &key, T value) {
    if constexpr (std::is_floating_point_v<T>)
      line_ += fmt::format(" {}={:.6g}", key, value);
    else
      line_ += fmt::format(" {}={}", key, value);
  }
  void emit() const {
    std::printf("CHILD%s\n", line_.c_str());
    std::fflush(stdout);
  }

private:
  std::string line_;
};

using Values = std::map<std::string, std::string>;

double num(const Values &v, const std::string &key) {
  auto it = v.find(key);
  if (it == v.end()) throw std::runtime_error("child result lacks " + key);
  return std::stod(it->second);
}

// Runs this binary with `args` and environment `env`; returns the CHILD line.
Values run_child(const std::vector<std::string> &args, const std::vector<std::string> &env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<std::string> a = args;
  std::vector<char *> argv;
  for (auto &s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> e = env;
  std::vector<char *> envp;
  for (auto &s : e) envp.push_back(s.data());
  envp.push_back(nullptr);
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Only async-signal-safe calls until execve.
    if (dup2(fds[1], STDOUT_FILENO) < 0) _exit(127);
    execve(self.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  Values v;
  std::stringstream ss(out);
  std::string line;
  bool found = false;
  while (std::getline(ss, line)) {
    if (line.rfind("CHILD", 0) != 0) continue;
    found = true;
    std::stringstream ls(line.substr(5));
    std::string tok;
    while (ls >> tok) {
      const auto eq = tok.find('=');
      if (eq != std::string::npos) v[tok.substr(0, eq)] = tok.substr(eq + 1);
    }
  }
  if (!found || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    throw std::runtime_error(fmt::format("child {} failed (status {}): {}", args.size() > 2 ? args[2] : "?",
                                         st, out.substr(0, 2000)));
  return v;
}

std::vector<std::string> environment(const std::vector<std::string> &drop,
                                     const std::vector<std::string> &add) {
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e) {
    const std::string s = *e;
    bool skip = false;
    for (const auto &d : drop)
      if (s.rfind(d + "=", 0) == 0) skip = true;
    if (!skip) env.push_back(s);
  }
  for (const auto &s : add) env.push_back(s);
  return env;
}

std::vector<std::string> child_args(const Options &opt, const std::string &child, int size,
                                    const std::string &variant) {
  return {"bench_metadata",
          "--child",
          child,
          "--size",
          std::to_string(size),
          "--variant",
          variant,
          "--workdir",
          opt.workdir,
          "--cpu",
          std::to_string(opt.cpu),
          "--cpu2",
          std::to_string(opt.cpu2),
          "--refreshes",
          std::to_string(opt.refreshes),
          "--login-seconds",
          fmt::format("{}", opt.login_seconds),
          "--login-refreshes",
          std::to_string(opt.login_refreshes),
          "--lookups",
          std::to_string(opt.lookups)};
}

// ---------------------------------------------------------------- child: interkonto load

struct LoadResult {
  SnapshotPtr snap;
  double wall = 0;
  double cpu = 0;
  double read_wall = 0;
};

LoadResult timed_load(const fs::path &file, const AggregateTrust &trust, const EntityFilter &filter) {
  LoadResult r;
  const double w0 = wall_seconds(), c0 = thread_cpu_seconds();
  std::string text = read_file(file);
  r.read_wall = wall_seconds() - w0;
  r.snap = load_aggregate(text, trust, now_ms(), filter);
  r.wall = wall_seconds() - w0;
  r.cpu = thread_cpu_seconds() - c0;
  return r;
}

int child_ik_load(const Options &opt) {
  pin_thread(opt.cpu);
  const fs::path dir = opt.workdir;
  const fs::path file = aggregate_path(dir, opt.size);
  const AggregateTrust trust = federation_trust(dir);
  EntityFilter filter;
  if (opt.variant == "idp") filter.role = EntityFilter::Role::idp;
  xmlsec::ensure_initialized();
  trim_heap();
  const long rss0 = status_kb("VmRSS");

  LoadResult r = timed_load(file, trust, filter);
  trim_heap(); // the text and the DOM are gone; return their pages as the provider does
  const long rss1 = status_kb("VmRSS");
  const long hwm1 = status_kb("VmHWM");
  const SnapshotPtr snap = r.snap;
  Report rep;
  rep.add("entities", snap->entities().size());
  rep.add("skipped", snap->skipped().size());
  rep.add("wall_s", r.wall);
  rep.add("cpu_s", r.cpu);
  rep.add("read_s", r.read_wall);
  rep.add("rss0_kb", rss0);
  rep.add("rss_kb", rss1);
  rep.add("hwm_kb", hwm1);
  if (opt.variant == "idp") {
    rep.emit();
    return 0;
  }

  // ---- lookups: random entityIDs (copies, as a request brings them), hits
  // and misses, and by SHA-1
  {
    std::mt19937_64 rng(42);
    const auto &all = snap->entities();
    std::uniform_int_distribution<std::size_t> pick(0, all.size() - 1);
    constexpr std::size_t kDistinct = 4096;
    std::vector<std::string> ids, misses, sha1s;
    for (std::size_t i = 0; i < kDistinct; ++i) {
      const auto &e = all[pick(rng)];
      ids.push_back(e->entity_id);
      sha1s.push_back("{sha1}" + e->sha1_hex);
      misses.push_back(e->entity_id + "/unknown");
    }
    const auto n = static_cast<std::size_t>(opt.lookups);
    auto bench = [&](const std::vector<std::string> &keys, bool sha1, bool expect) {
      std::size_t found = 0;
      // warm-up
      for (const auto &k : keys) found += (sha1 ? snap->find_sha1(k) : snap->find(k)) ? 1U : 0U;
      found = 0;
      const double c0 = thread_cpu_seconds();
      for (std::size_t i = 0; i < n; ++i) {
        const std::string &k = keys[(i * 2654435761U) % keys.size()];
        found += (sha1 ? snap->find_sha1(k) : snap->find(k)) ? 1U : 0U;
      }
      const double c = thread_cpu_seconds() - c0;
      if (found != (expect ? n : 0)) throw std::runtime_error("lookup returned unexpected results");
      return c / static_cast<double>(n) * 1e9;
    };
    rep.add("lookup_ns", bench(ids, false, true));
    rep.add("lookup_miss_ns", bench(misses, false, false));
    rep.add("lookup_sha1_ns", bench(sha1s, true, true));
  }

  // ---- every key parsed (a worst case: normally only IdPs actually used are)
  {
    const double c0 = thread_cpu_seconds();
    std::size_t nkeys = 0;
    for (const auto &e : snap->entities())
      for (const RoleDescriptor *role : {static_cast<const RoleDescriptor *>(e->idp ? &*e->idp : nullptr),
                                         static_cast<const RoleDescriptor *>(e->sp ? &*e->sp : nullptr)})
        if (role != nullptr)
          for (const auto &k : role->keys) {
            (void)k.key();
            ++nkeys;
          }
    rep.add("keys", nkeys);
    rep.add("parse_all_keys_cpu_s", thread_cpu_seconds() - c0);
    trim_heap();
    rep.add("rss_all_keys_kb", status_kb("VmRSS"));
  }

  // ---- stage breakdown (after the memory figures, so they stay clean)
  {
    const std::string text = read_file(file);
    const double c0 = thread_cpu_seconds();
    xml::DocPtr doc = xml::parse(text, trust.max_size);
    const double c1 = thread_cpu_seconds();
    xmlNode *root = xmlDocGetRootElement(doc.get());
    xml::register_id(doc.get(), root);
    (void)xmlsec::verify_enveloped(doc.get(), root, trust.pinned_keys, trust.policy);
    const double c2 = thread_cpu_seconds();
    doc.reset();
    const double c3 = thread_cpu_seconds();
    SnapshotPtr again = load_aggregate(text, trust, now_ms(), filter);
    const double c4 = thread_cpu_seconds();
    again.reset(); // the last reference: what a thread pays that drops an old snapshot
    rep.add("free_snapshot_s", thread_cpu_seconds() - c4);
    rep.add("stage_parse_s", c1 - c0);
    rep.add("stage_verify_s", c2 - c1);
    rep.add("stage_free_dom_s", c3 - c2);
    rep.add("stage_total_s", c4 - c3);
  }
  rep.emit();
  return 0;
}

// ---------------------------------------------------------------- child: refresh memory

// A source that returns the file every time (a FileSource answers "not
// modified" for an unchanged file, and the benchmark wants real reloads).
class ReloadingFileSource final : public MetadataSource {
public:
  explicit ReloadingFileSource(std::string path) : file_(std::move(path)) {}
  FetchResult fetch(const std::string &, const std::string &) override { return file_.fetch({}, {}); }
  std::string describe() const override { return file_.describe(); }

private:
  FileSource file_;
};

std::shared_ptr<MetadataProvider> make_provider(const fs::path &dir, int size) {
  ProviderConfig cfg;
  cfg.trust = federation_trust(dir);
  auto src = std::make_unique<ReloadingFileSource>(aggregate_path(dir, size).string());
  return std::make_shared<MetadataProvider>(std::move(src), cfg);
}

int child_ik_refresh(const Options &opt) {
  pin_thread(opt.cpu);
  const fs::path dir = opt.workdir;
  xmlsec::ensure_initialized();
  trim_heap();
  Report rep;
  rep.add("rss0_kb", status_kb("VmRSS"));
  std::vector<double> times;
  auto record = [&](int i) {
    // As left behind (the provider trims after dropping the old snapshot),
    // then after one more malloc_trim (what is really still in use).
    const long as_is = status_kb("VmRSS");
    trim_heap();
    const long trimmed = status_kb("VmRSS");
    rep.add(fmt::format("rss_as_is_{}_kb", i), as_is);
    rep.add(fmt::format("rss_{}_kb", i), trimmed);
    // Bytes malloc has handed out and not got back: what is really live.
    rep.add(fmt::format("heap_in_use_{}_kb", i), mallinfo2().uordblks / 1024);
  };
  if (opt.variant == "drop-first") {
    // Diagnostic: the old snapshot is dropped (and the heap trimmed) before
    // the new one is built, so the two never overlap. A provider cannot do
    // this (readers would find nothing); it shows what the overlap costs.
    const AggregateTrust trust = federation_trust(dir);
    SnapshotPtr current;
    for (int i = 1; i <= opt.refreshes; ++i) {
      current.reset();
      trim_heap();
      const double w0 = wall_seconds();
      current = timed_load(aggregate_path(dir, opt.size), trust, {}).snap;
      times.push_back(wall_seconds() - w0);
      record(i);
    }
  } else {
    auto provider = make_provider(dir, opt.size);
    for (int i = 1; i <= opt.refreshes; ++i) {
      const double w0 = wall_seconds();
      const bool ok = i == 1 ? provider->initialize() : provider->refresh_now();
      times.push_back(wall_seconds() - w0);
      if (!ok) throw std::runtime_error("refresh failed: " + provider->health().last_error);
      record(i);
    }
    rep.add("entities", provider->snapshot()->entities().size());
  }
  rep.add("n", opt.refreshes);
  rep.add("refresh_wall_median_s", median(times));
  rep.add("hwm_kb", status_kb("VmHWM"));
  rep.emit();
  return 0;
}

// ---------------------------------------------------------------- child: login during refresh

struct Lat {
  std::int64_t start = 0; // steady clock, ns
  std::int64_t wall = 0;  // ns
  std::int64_t cpu = 0;   // thread CPU, ns
  long vcsw = 0;          // voluntary context switches (the thread blocked: lock, I/O)
  long ivcsw = 0;         // involuntary ones (preempted by another thread or process)
};

std::pair<long, long> context_switches() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return {ru.ru_nvcsw, ru.ru_nivcsw};
}

struct LatStats {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;        // µs, wall
  double cpu_p50 = 0, cpu_p99 = 0, cpu_p999 = 0, cpu_max = 0; // µs, thread CPU
  std::size_t cpu_over_1ms = 0;                               // validations that used more than 1 ms of CPU
  std::size_t blocked = 0;                                    // validations during which the thread blocked
  std::size_t preempted = 0; // validations during which the thread was preempted
  double blocked_max = 0;    // µs, wall, longest validation that blocked
};

LatStats stats(const std::vector<const Lat *> &v) {
  LatStats s;
  s.count = v.size();
  if (v.empty()) return s;
  std::vector<double> w, c;
  for (const Lat *l : v) {
    w.push_back(static_cast<double>(l->wall) / 1e3);
    c.push_back(static_cast<double>(l->cpu) / 1e3);
    s.cpu_over_1ms += l->cpu > 1'000'000 ? 1U : 0U;
    s.blocked += l->vcsw > 0 ? 1U : 0U;
    if (l->vcsw > 0) s.blocked_max = std::max(s.blocked_max, static_cast<double>(l->wall) / 1e3);
    s.preempted += l->ivcsw > 0 ? 1U : 0U;
  }
  std::sort(w.begin(), w.end());
  std::sort(c.begin(), c.end());
  auto q = [](const std::vector<double> &x, double p) {
    const auto i = static_cast<std::size_t>(p * static_cast<double>(x.size() - 1) + 0.5);
    return x[std::min(i, x.size() - 1)];
  };
  s.p50 = q(w, 0.5);
  s.p90 = q(w, 0.9);
  s.p99 = q(w, 0.99);
  s.p999 = q(w, 0.999);
  s.max = w.back();
  s.cpu_p50 = q(c, 0.5);
  s.cpu_p99 = q(c, 0.99);
  s.cpu_p999 = q(c, 0.999);
  s.cpu_max = c.back();
  return s;
}

void add_stats(Report &rep, const std::string &prefix, const LatStats &s) {
  rep.add(prefix + "_n", s.count);
  rep.add(prefix + "_p50_us", s.p50);
  rep.add(prefix + "_p90_us", s.p90);
  rep.add(prefix + "_p99_us", s.p99);
  rep.add(prefix + "_p999_us", s.p999);
  rep.add(prefix + "_max_us", s.max);
  rep.add(prefix + "_cpu_p50_us", s.cpu_p50);
  rep.add(prefix + "_cpu_p99_us", s.cpu_p99);
  rep.add(prefix + "_cpu_p999_us", s.cpu_p999);
  rep.add(prefix + "_cpu_max_us", s.cpu_max);
  rep.add(prefix + "_cpu_over_1ms", s.cpu_over_1ms);
  rep.add(prefix + "_blocked", s.blocked);
  rep.add(prefix + "_preempted", s.preempted);
  rep.add(prefix + "_blocked_max_us", s.blocked_max);
}

int child_ik_login(const Options &opt) {
  const bool two = opt.variant.rfind("two", 0) == 0;
  const bool hold = opt.variant.find("-hold") != std::string::npos;
  const int cpu_validate = opt.cpu;
  const int cpu_refresh = two ? opt.cpu2 : opt.cpu;
  pin_thread(cpu_validate);
  const fs::path dir = opt.workdir;
  xmlsec::ensure_initialized();

  // The response: signed by the test IdP (in the aggregate as test::kIdp),
  // issued now.
  const Credential idp = load_credential((dir / "idp.key.pem").string(), (dir / "idp.crt.pem").string());
  test::ResponseSpec spec;
  spec.signer = &idp;
  spec.issued = std::chrono::floor<std::chrono::seconds>(now_ms());
  const std::string b64 = base64_encode(test::build_response(spec));
  ResponseCheck check = test::base_check();
  check.now = spec.issued + std::chrono::minutes(1);

  auto provider = make_provider(dir, opt.size);
  if (!provider->initialize())
    throw std::runtime_error("initial load failed: " + provider->health().last_error);
  const ResponseValidator validator(make_federation_idp_directory(provider, IdpSettings{}), {}, nullptr);
  if (validator.validate(b64, check).attributes.empty()) throw std::runtime_error("no attributes read back");
  try {
    (void)validator.validate(
        base64_encode(test::replace_once(test::build_response(spec), ">Schmidt<", ">Schmitt<")), check);
    throw std::runtime_error("a tampered response was accepted");
  } catch (const Error &e) {
    if (e.code() != ErrorCode::signature_invalid) throw;
  }

  constexpr std::size_t kMaxSamples = 4'000'000;
  auto validate_loop = [&](std::vector<Lat> &out, const std::atomic<bool> &stop, double max_seconds) {
    pin_thread(cpu_validate);
    out.reserve(200'000);
    const std::int64_t end = wall_ns() + static_cast<std::int64_t>(max_seconds * 1e9);
    while (!stop.load(std::memory_order_relaxed) && out.size() < kMaxSamples) {
      const auto [v0, i0] = context_switches();
      const std::int64_t w0 = wall_ns(), c0 = thread_cpu_ns();
      (void)validator.validate(b64, check);
      const std::int64_t c1 = thread_cpu_ns(), w1 = wall_ns();
      const auto [v1, i1] = context_switches();
      out.push_back(Lat{w0, w1 - w0, c1 - c0, v1 - v0, i1 - i0});
      if (w1 > end) break;
    }
  };

  // ---- without a refresh
  std::vector<Lat> base;
  {
    std::atomic<bool> stop{false};
    std::thread t(validate_loop, std::ref(base), std::cref(stop), opt.login_seconds);
    t.join();
  }

  // ---- while another thread refreshes the provider (new 5,000-entity
  // snapshot built and swapped in, old one dropped, malloc_trim)
  std::vector<Lat> during_all;
  std::vector<std::pair<std::int64_t, std::int64_t>> windows;
  std::vector<double> refresh_wall, refresh_cpu;
  {
    std::atomic<bool> stop{false};
    std::thread v(validate_loop, std::ref(during_all), std::cref(stop), 600.0);
    std::string failure;
    std::thread r([&] {
      try {
        pin_thread(cpu_refresh);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        for (int i = 0; i < opt.login_refreshes; ++i) {
          const std::int64_t w0 = wall_ns(), c0 = thread_cpu_ns();
          // Diagnostic (--variant ...-hold): this thread keeps the old
          // snapshot and drops it itself, so a validation never holds the
          // last reference.
          SnapshotPtr old = hold ? provider->snapshot() : nullptr;
          if (!provider->refresh_now()) failure = provider->health().last_error;
          old.reset();
          const std::int64_t w1 = wall_ns();
          windows.emplace_back(w0, w1);
          refresh_wall.push_back(static_cast<double>(w1 - w0) / 1e9);
          refresh_cpu.push_back(static_cast<double>(thread_cpu_ns() - c0) / 1e9);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      } catch (const std::exception &e) {
        failure = e.what();
      }
      stop.store(true);
    });
    r.join();
    v.join();
    if (!failure.empty()) throw std::runtime_error("refresh failed: " + failure);
  }
  std::vector<const Lat *> b, d, outside;
  for (const auto &l : base) b.push_back(&l);
  for (const auto &l : during_all) {
    bool overlaps = false;
    for (const auto &[ws, we] : windows)
      if (l.start < we && l.start + l.wall > ws) overlaps = true;
    (overlaps ? d : outside).push_back(&l);
  }
  Report rep;
  rep.add("cpu_validate", cpu_validate);
  rep.add("cpu_refresh", cpu_refresh);
  rep.add("refreshes", windows.size());
  rep.add("refresh_wall_median_s", median(refresh_wall));
  rep.add("refresh_cpu_median_s", median(refresh_cpu));
  double refresh_total = 0;
  for (const auto &[ws, we] : windows) refresh_total += static_cast<double>(we - ws) / 1e9;
  rep.add("refresh_total_s", refresh_total);
  add_stats(rep, "base", stats(b));
  add_stats(rep, "during", stats(d));
  add_stats(rep, "outside", stats(outside));
  rep.emit();
  return 0;
}

// ---------------------------------------------------------------- child: Lasso

void quiet_log(const gchar *, GLogLevelFlags, const gchar *, gpointer) {}

struct GObjectUnref {
  void operator()(gpointer p) const noexcept {
    if (p) g_object_unref(p);
  }
};

struct GListStrings {
  GList *list = nullptr;
  GListStrings() = default;
  GListStrings(const GListStrings &) = delete;
  GListStrings &operator=(const GListStrings &) = delete;
  ~GListStrings() { g_list_free_full(list, g_free); }
  unsigned length() const { return g_list_length(list); }
};

int child_lasso(const Options &opt) {
  const bool tuned = opt.variant == "tuned";
  const char *cert_env = std::getenv("SSL_CERT_FILE");
  if (tuned ? !(cert_env && std::string_view(cert_env) == "/dev/null") : cert_env != nullptr)
    throw std::runtime_error("SSL_CERT_FILE is not as the variant requires");
  pin_thread(opt.cpu);
  if (lasso_init() != 0) throw std::runtime_error("lasso_init failed");
  const fs::path dir = opt.workdir;
  const std::string file = opt.file.empty() ? aggregate_path(dir, opt.size).string() : opt.file;
  const std::string roots = (dir / "federation.crt.pem").string();
  Report rep;
  if (!opt.file.empty()) {
    // Tamper check: the load must fail.
    const guint handler = g_log_set_handler(
        "Lasso", static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION),
        quiet_log, nullptr);
    std::unique_ptr<LassoServer, GObjectUnref> server(lasso_server_new(nullptr, nullptr, nullptr, nullptr));
    GListStrings loaded;
    const int rc =
        lasso_server_load_metadata(server.get(), LASSO_PROVIDER_ROLE_IDP, file.c_str(), roots.c_str(),
                                   nullptr, &loaded.list, LASSO_SERVER_LOAD_METADATA_FLAG_DEFAULT);
    g_log_remove_handler("Lasso", handler);
    rep.add("rc", rc);
    rep.add("loaded", loaded.length());
    std::string msg = rc ? lasso_strerror(rc) : "ok";
    std::replace(msg.begin(), msg.end(), ' ', '_');
    rep.add("msg", msg);
    rep.emit();
    lasso_shutdown();
    return 0;
  }

  trim_heap();
  const long rss0 = status_kb("VmRSS");
  const double w0 = wall_seconds(), c0 = thread_cpu_seconds();
  std::unique_ptr<LassoServer, GObjectUnref> server(lasso_server_new(nullptr, nullptr, nullptr, nullptr));
  if (!server) throw std::runtime_error("lasso_server_new failed");
  GListStrings idps, sps;
  const int rc1 =
      lasso_server_load_metadata(server.get(), LASSO_PROVIDER_ROLE_IDP, file.c_str(), roots.c_str(), nullptr,
                                 &idps.list, LASSO_SERVER_LOAD_METADATA_FLAG_DEFAULT);
  const double w1 = wall_seconds(), c1 = thread_cpu_seconds();
  trim_heap();
  const long rss_idp = status_kb("VmRSS"), hwm_idp = status_kb("VmHWM");
  const double w2 = wall_seconds(), c2 = thread_cpu_seconds();
  const int rc2 =
      lasso_server_load_metadata(server.get(), LASSO_PROVIDER_ROLE_SP, file.c_str(), roots.c_str(), nullptr,
                                 &sps.list, LASSO_SERVER_LOAD_METADATA_FLAG_DEFAULT);
  const double w3 = wall_seconds(), c3 = thread_cpu_seconds();
  trim_heap();
  const long rss_both = status_kb("VmRSS"), hwm_both = status_kb("VmHWM");
  if (rc1 != 0 || rc2 != 0)
    throw std::runtime_error(
        fmt::format("lasso_server_load_metadata: {} / {}", lasso_strerror(rc1), lasso_strerror(rc2)));
  rep.add("idp_loaded", idps.length());
  rep.add("sp_loaded", sps.length());
  rep.add("providers", g_hash_table_size(server->providers));
  rep.add("idp_wall_s", w1 - w0);
  rep.add("idp_cpu_s", c1 - c0);
  rep.add("sp_wall_s", w3 - w2);
  rep.add("sp_cpu_s", c3 - c2);
  rep.add("wall_s", (w1 - w0) + (w3 - w2));
  rep.add("cpu_s", (c1 - c0) + (c3 - c2));
  rep.add("rss0_kb", rss0);
  rep.add("rss_idp_kb", rss_idp);
  rep.add("hwm_idp_kb", hwm_idp);
  rep.add("rss_kb", rss_both);
  rep.add("hwm_kb", hwm_both);
  rep.emit();
  server.reset();
  lasso_shutdown();
  return 0;
}

// ---------------------------------------------------------------- parent

struct SizeResult {
  int n = 0;
  std::uintmax_t bytes = 0;
  std::vector<Values> ik, ik_idp, lasso;
};

double med(const std::vector<Values> &v, const std::string &key) {
  std::vector<double> x;
  for (const auto &r : v) x.push_back(num(r, key));
  return median(x);
}

// Median over reps of the per-rep ratio a/b (paired: drift cancels out).
double paired(const std::vector<Values> &a, const std::string &ka, const std::vector<Values> &b,
              const std::string &kb) {
  std::vector<double> r;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (num(a[i], ka) > 0) r.push_back(num(b[i], kb) / num(a[i], ka));
  return median(r);
}

const char *verdict(bool met) {
  return met ? "met" : "NOT met";
}

int parent_main(const Options &opt) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<int> sizes = opt.sizes;
  std::vector<int> needed = sizes;
  if (!opt.skip_login || opt.refreshes > 0) needed.push_back(opt.refresh_size);
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  (void)ensure_generated(opt, needed);
  if (opt.generate_only) return 0;
  const fs::path dir = opt.workdir;
  const int smallest = needed.front();

  // ---- both sides must refuse a tampered aggregate and accept the good one
  std::string ik_tamper, lasso_tamper;
  {
    const AggregateTrust trust = federation_trust(dir);
    const SnapshotPtr ok = load_aggregate(read_file(aggregate_path(dir, smallest)), trust, now_ms());
    if (static_cast<int>(ok->entities().size()) != smallest || !ok->skipped().empty())
      throw std::runtime_error(fmt::format("interkonto loaded {} of {} entities ({} skipped)",
                                           ok->entities().size(), smallest, ok->skipped().size()));
    try {
      (void)load_aggregate(read_file(tampered_path(dir, smallest)), trust, now_ms());
      throw std::runtime_error("interkonto accepted a tampered aggregate");
    } catch (const Error &e) {
      if (e.code() != ErrorCode::signature_invalid) throw;
      ik_tamper = to_string(e.code());
    }
    if (!opt.skip_lasso) {
      auto args = child_args(opt, "lasso", smallest, "tuned");
      args.push_back("--file");
      args.push_back(tampered_path(dir, smallest).string());
      const Values v =
          run_child(args, environment({"SSL_CERT_FILE", "TZ"}, {"SSL_CERT_FILE=/dev/null", "TZ=UTC"}));
      if (num(v, "rc") == 0 || num(v, "loaded") != 0)
        throw std::runtime_error("Lasso accepted a tampered aggregate: signature not verified");
      lasso_tamper = fmt::format("rc {} ({})", v.at("rc"), v.at("msg"));
    }
  }

  std::printf(
      "bench_metadata: signed aggregate load + verify, interkonto vs Lasso %s lasso_server_load_metadata\n",
      BENCH_LASSO_VERSION);
  std::printf("  aggregates   eduGAIN-like, %d %% IdPs / %d %% SPs, mdui (de/en), EntityAttributes, "
              "RegistrationInfo,\n"
              "               Organization, 3 ContactPersons, signing + encryption certificate per entity\n"
              "               (RSA-2048, %d distinct, round-robin), signed rsa-sha256 with the pinned "
              "federation key\n",
              40, 60, kCertPool);
  std::vector<SizeResult> results;
  for (int n : sizes) {
    SizeResult s;
    s.n = n;
    s.bytes = fs::file_size(aggregate_path(dir, n));
    std::printf("               %6s entities: %s bytes (%.2f KB per entity)\n", thousands(n).c_str(),
                thousands(static_cast<double>(s.bytes)).c_str(),
                static_cast<double>(s.bytes) / 1024.0 / static_cast<double>(n));
    results.push_back(std::move(s));
  }
  std::printf("  workdir      %s (generated once, reused while valid)\n", opt.workdir.c_str());
  std::printf("  CPU          %s; each measurement in a fresh child process; %d rep(s), medians\n",
              opt.cpu < 0 ? "not pinned" : fmt::format("pinned to CPU {}", opt.cpu).c_str(), opt.reps);
  std::printf(
      "  interkonto   read file + load_aggregate(xml, pinned key, now): verify, parse, model, snapshot;\n"
      "               RSS after load and malloc_trim(0), minus RSS before\n");
  std::printf(
      "  Lasso        lasso_server_load_metadata(role IdP) then (role SP) into one LassoServer\n"
      "               (one role per call), trusted_roots = federation certificate PEM;\n"
      "               SSL_CERT_FILE=/dev/null TZ=UTC (tuned); RSS after malloc_trim(0), minus RSS before\n");
  std::printf("  tamper check interkonto: %s; Lasso: %s\n", ik_tamper.c_str(),
              opt.skip_lasso ? "skipped" : lasso_tamper.c_str());
  std::fflush(stdout);

  const auto tuned_env = environment({"SSL_CERT_FILE", "TZ"}, {"SSL_CERT_FILE=/dev/null", "TZ=UTC"});
  const auto ik_env = environment({}, {});
  for (int r = 0; r < opt.reps; ++r) {
    std::printf("rep %d:", r + 1);
    for (auto &s : results) {
      s.ik.push_back(run_child(child_args(opt, "ik-load", s.n, "all"), ik_env));
      s.ik_idp.push_back(run_child(child_args(opt, "ik-load", s.n, "idp"), ik_env));
      if (num(s.ik.back(), "entities") != s.n || num(s.ik_idp.back(), "entities") != count_idps(s.n))
        throw std::runtime_error(fmt::format("interkonto loaded {} entities ({} IdPs), expected {} ({})",
                                             s.ik.back().at("entities"), s.ik_idp.back().at("entities"), s.n,
                                             count_idps(s.n)));
      std::printf("  %d: ik %.0f ms", s.n, num(s.ik.back(), "cpu_s") * 1e3);
      if (!opt.skip_lasso) {
        s.lasso.push_back(run_child(child_args(opt, "lasso", s.n, "tuned"), tuned_env));
        if (num(s.lasso.back(), "idp_loaded") != count_idps(s.n) ||
            num(s.lasso.back(), "sp_loaded") != s.n - count_idps(s.n))
          throw std::runtime_error(fmt::format(
              "Lasso loaded {} IdPs and {} SPs, expected {} and {}", s.lasso.back().at("idp_loaded"),
              s.lasso.back().at("sp_loaded"), count_idps(s.n), s.n - count_idps(s.n)));
        std::printf(" lasso %.0f ms", num(s.lasso.back(), "cpu_s") * 1e3);
      }
      std::fflush(stdout);
    }
    std::printf("\n");
  }

  std::optional<Values> lasso_default;
  if (opt.lasso_default && !opt.skip_lasso) {
    std::printf("Lasso default (SSL_CERT_FILE and TZ unset), %s entities ...\n", thousands(smallest).c_str());
    std::fflush(stdout);
    lasso_default =
        run_child(child_args(opt, "lasso", smallest, "default"), environment({"SSL_CERT_FILE", "TZ"}, {}));
  }

  // ---- table
  std::printf("\nload + verify (CPU time of the loading thread, median; wall in brackets)\n");
  std::printf("%9s %16s %18s %8s | %16s %18s %8s\n", "entities", "interkonto ms", "Lasso tuned ms", "ratio",
              "ik role=idp ms", "Lasso IdPs only ms", "ratio");
  for (const auto &s : results) {
    if (opt.skip_lasso) {
      std::printf("%9s %8.0f (%5.0f) %18s %8s | %8.0f (%5.0f)\n", thousands(s.n).c_str(),
                  med(s.ik, "cpu_s") * 1e3, med(s.ik, "wall_s") * 1e3, "-", "-", med(s.ik_idp, "cpu_s") * 1e3,
                  med(s.ik_idp, "wall_s") * 1e3);
      continue;
    }
    std::printf("%9s %8.0f (%5.0f) %10.0f (%5.0f) %7.2fx | %8.0f (%5.0f) %10.0f (%5.0f) %7.2fx\n",
                thousands(s.n).c_str(), med(s.ik, "cpu_s") * 1e3, med(s.ik, "wall_s") * 1e3,
                med(s.lasso, "cpu_s") * 1e3, med(s.lasso, "wall_s") * 1e3,
                paired(s.ik, "cpu_s", s.lasso, "cpu_s"), med(s.ik_idp, "cpu_s") * 1e3,
                med(s.ik_idp, "wall_s") * 1e3, med(s.lasso, "idp_cpu_s") * 1e3,
                med(s.lasso, "idp_wall_s") * 1e3, paired(s.ik_idp, "cpu_s", s.lasso, "idp_cpu_s"));
  }
  std::printf(
      "  'Lasso IdPs only': one call with role IdP, as a Lasso SP loads a feed (it still parses and\n"
      "  verifies the whole document); its ratio is against interkonto with EntityFilter role=idp.\n");

  std::printf("\nmemory (RSS after load minus before, per entity; peak = VmHWM of the process)\n");
  std::printf("%9s %16s %16s %14s %14s %14s\n", "entities", "ik KB/entity", "Lasso KB/entity", "ik peak MB",
              "Lasso peak MB", "ik keys parsed");
  for (const auto &s : results) {
    const double n = static_cast<double>(s.n);
    const double ik_kb = (med(s.ik, "rss_kb") - med(s.ik, "rss0_kb")) / n;
    const double ik_keys_kb = (med(s.ik, "rss_all_keys_kb") - med(s.ik, "rss0_kb")) / n;
    if (opt.skip_lasso)
      std::printf("%9s %16.2f %16s %14.0f %14s %11.2f KB\n", thousands(s.n).c_str(), ik_kb, "-",
                  med(s.ik, "hwm_kb") / 1024, "-", ik_keys_kb);
    else
      std::printf("%9s %16.2f %16.2f %14.0f %14.0f %11.2f KB\n", thousands(s.n).c_str(), ik_kb,
                  (med(s.lasso, "rss_kb") - med(s.lasso, "rss0_kb")) / n, med(s.ik, "hwm_kb") / 1024,
                  med(s.lasso, "hwm_kb") / 1024, ik_keys_kb);
  }
  std::printf(
      "  'ik keys parsed': per entity after every certificate of the snapshot was parsed (worst case;\n"
      "  a certificate is parsed on first use, normally only for the IdPs that are used).\n");

  std::printf("\nlookups on the snapshot (CPU ns per call, %s calls over 4,096 random entityIDs)\n",
              thousands(opt.lookups).c_str());
  std::printf("%9s %12s %12s %12s\n", "entities", "find (hit)", "find (miss)", "find_sha1");
  for (const auto &s : results)
    std::printf("%9s %12.0f %12.0f %12.0f\n", thousands(s.n).c_str(), med(s.ik, "lookup_ns"),
                med(s.ik, "lookup_miss_ns"), med(s.ik, "lookup_sha1_ns"));

  std::printf("\ninterkonto stages (CPU ms, timed alone in the same child after the measurements)\n");
  std::printf("%9s %10s %10s %10s %12s %10s %14s %14s\n", "entities", "parse", "verify", "free DOM",
              "model+rest", "total", "parse all keys", "drop snapshot");
  for (const auto &s : results) {
    const double p = med(s.ik, "stage_parse_s") * 1e3, v = med(s.ik, "stage_verify_s") * 1e3,
                 f = med(s.ik, "stage_free_dom_s") * 1e3, t = med(s.ik, "stage_total_s") * 1e3;
    std::printf("%9s %10.0f %10.0f %10.0f %12.0f %10.0f %14.0f %14.1f\n", thousands(s.n).c_str(), p, v, f,
                t - p - v - f, t, med(s.ik, "parse_all_keys_cpu_s") * 1e3,
                med(s.ik, "free_snapshot_s") * 1e3);
  }
  if (lasso_default) {
    const SizeResult *small = nullptr;
    for (const auto &s : results)
      if (s.n == smallest) small = &s;
    std::printf("\nLasso default (untuned), %s entities: %.1f s CPU (%.1f s wall), peak %.0f MB",
                thousands(smallest).c_str(), num(*lasso_default, "cpu_s"), num(*lasso_default, "wall_s"),
                num(*lasso_default, "hwm_kb") / 1024);
    if (small != nullptr)
      std::printf("; %.0fx interkonto, %.0fx Lasso tuned",
                  num(*lasso_default, "cpu_s") / med(small->ik, "cpu_s"),
                  small->lasso.empty() ? 0.0 : num(*lasso_default, "cpu_s") / med(small->lasso, "cpu_s"));
    std::printf("\n");
  }

  // ---- refresh memory
  std::optional<Values> refresh, refresh_diag;
  if (opt.refreshes > 0) {
    refresh = run_child(child_args(opt, "ik-refresh", opt.refresh_size, "provider"), ik_env);
    refresh_diag = run_child(child_args(opt, "ik-refresh", opt.refresh_size, "drop-first"), ik_env);
    const int nref = static_cast<int>(num(*refresh, "n"));
    std::printf("\nrefresh memory: the %s-entity aggregate loaded %d times in a row; RSS MB after each load\n"
                "(after malloc_trim(0); in brackets: as left behind, without that extra trim)\n",
                thousands(opt.refresh_size).c_str(), nref);
    auto row = [&](const char *label, const Values &v) {
      std::printf("  %-34s", label);
      for (int i = 1; i <= nref; ++i) std::printf(" %4.0f", num(v, fmt::format("rss_{}_kb", i)) / 1024);
      std::printf("   #%d/#1 %.3f (%.3f)\n", nref,
                  num(v, fmt::format("rss_{}_kb", nref)) / num(v, "rss_1_kb"),
                  num(v, fmt::format("rss_as_is_{}_kb", nref)) / num(v, "rss_as_is_1_kb"));
    };
    row("MetadataProvider (refresh_now)", *refresh);
    row("diagnostic: old dropped first", *refresh_diag);
    std::printf("  %-34s", "malloc'd and live (mallinfo2), MB");
    for (int i = 1; i <= nref; ++i)
      std::printf(" %4.0f", num(*refresh, fmt::format("heap_in_use_{}_kb", i)) / 1024);
    std::printf("   (MetadataProvider run)\n");
    std::printf(
        "  MetadataProvider: builds the new snapshot while the old one is live, swaps, drops the old one,\n"
        "  malloc_trim; peak %.0f MB; one refresh %.0f ms wall (median). Before the first load: %.0f MB.\n"
        "  'old dropped first' never overlaps two snapshots (a provider cannot do that: readers would\n"
        "  find nothing). The live heap stays the same from load to load (no leak): the difference\n"
        "  between the rows is free memory that malloc_trim cannot return, i.e. heap fragmentation\n"
        "  from building the new snapshot while the old one is still alive.\n",
        num(*refresh, "hwm_kb") / 1024, num(*refresh, "refresh_wall_median_s") * 1e3,
        num(*refresh, "rss0_kb") / 1024);
  }

  // ---- login during refresh
  std::vector<std::pair<std::string, Values>> logins;
  if (!opt.skip_login) {
    logins.emplace_back("same", run_child(child_args(opt, "ik-login", opt.refresh_size, "same"), ik_env));
    if (opt.cpu2 >= 0 && opt.cpu >= 0 && opt.cpu2 != opt.cpu &&
        static_cast<long>(std::thread::hardware_concurrency()) > opt.cpu2)
      logins.emplace_back("two", run_child(child_args(opt, "ik-login", opt.refresh_size, "two"), ik_env));
    std::printf(
        "\nlogin during refresh: ResponseValidator::validate in a loop, the IdP taken from the provider's\n"
        "current snapshot (make_federation_idp_directory); another thread refreshes the %s-entity\n"
        "provider %d times. 'during' = validations that overlapped a refresh. us per validation:\n"
        "wall, and CPU time of the validating thread; 'blocked' = validations in which the thread\n"
        "waited (voluntary context switch), 'preempted' = it was descheduled for another thread/process.\n",
        thousands(opt.refresh_size).c_str(), opt.login_refreshes);
    std::printf("%-24s %7s %6s %7s %7s %7s | %6s %6s %6s %6s | %7s %8s %9s\n", "", "n", "p50", "p99", "p99.9",
                "max", "CPU50", "CPU99", "CPUmax", ">1ms", "blocked", "blk max", "preempted");
    for (const auto &[mode, v] : logins) {
      const std::string label =
          mode == "same" ? fmt::format("1 core ({})", v.at("cpu_validate"))
                         : fmt::format("2 cores ({}+{})", v.at("cpu_validate"), v.at("cpu_refresh"));
      for (const char *phase : {"base", "during"}) {
        const std::string p = phase;
        std::printf("%-24s %7.0f %6.0f %7.0f %7.0f %7.0f | %6.0f %6.0f %6.0f %6.0f | %7.0f %8.0f %9.0f\n",
                    fmt::format("{}, {}", label, p == "base" ? "alone" : "during").c_str(), num(v, p + "_n"),
                    num(v, p + "_p50_us"), num(v, p + "_p99_us"), num(v, p + "_p999_us"),
                    num(v, p + "_max_us"), num(v, p + "_cpu_p50_us"), num(v, p + "_cpu_p99_us"),
                    num(v, p + "_cpu_max_us"), num(v, p + "_cpu_over_1ms"), num(v, p + "_blocked"),
                    num(v, p + "_blocked_max_us"), num(v, p + "_preempted"));
      }
      std::printf("%-24s refresh %.0f ms wall / %.0f ms CPU (median of %s)\n", "",
                  num(v, "refresh_wall_median_s") * 1e3, num(v, "refresh_cpu_median_s") * 1e3,
                  v.at("refreshes").c_str());
    }
    std::printf("  A thread that drops the last reference to a %s-entity snapshot frees it: %.1f ms CPU\n"
                "  (a validation can hold that reference for the moment of IdpDirectory::find).\n",
                thousands(opt.refresh_size).c_str(), [&] {
                  for (const auto &s : results)
                    if (s.n == opt.refresh_size) return med(s.ik, "free_snapshot_s") * 1e3;
                  return 0.0;
                }());
  }

  // ---- targets (for reading; the benchmark never fails on a number)
  std::printf("\nissue targets (for reading only)\n");
  const SizeResult *s5 = nullptr;
  for (const auto &s : results)
    if (s.n == 5000) s5 = &s;
  if (s5 && !opt.skip_lasso) {
    const double ratio = paired(s5->ik, "cpu_s", s5->lasso, "cpu_s");
    const double ratio_idp = paired(s5->ik_idp, "cpu_s", s5->lasso, "idp_cpu_s");
    std::printf("  5,000 entities >= 4x faster than tuned Lasso   whole feed %.2fx   %s\n", ratio,
                verdict(ratio >= 4));
    std::printf("                                                 IdPs only  %.2fx   %s\n", ratio_idp,
                verdict(ratio_idp >= 4));
  }
  if (s5)
    std::printf("  5,000 entities <= 1 s on one core              %.0f ms CPU (%.0f ms wall)   %s\n",
                med(s5->ik, "cpu_s") * 1e3, med(s5->ik, "wall_s") * 1e3,
                verdict(med(s5->ik, "cpu_s") <= 1.0));
  {
    double worst = 0;
    for (const auto &s : results)
      worst = std::max(worst, (med(s.ik, "rss_kb") - med(s.ik, "rss0_kb")) / static_cast<double>(s.n));
    std::printf("  <= 10 KB resident per entity after load        %.2f KB (largest over sizes)   %s\n", worst,
                verdict(worst <= 10));
    double worst_lookup = 0;
    for (const auto &s : results) worst_lookup = std::max(worst_lookup, med(s.ik, "lookup_ns"));
    std::printf("  entity lookup <= 1 us                          %.0f ns   %s\n", worst_lookup,
                verdict(worst_lookup <= 1000));
  }
  if (refresh) {
    const int nref = static_cast<int>(num(*refresh, "n"));
    const double rr = num(*refresh, fmt::format("rss_{}_kb", nref)) / num(*refresh, "rss_1_kb");
    std::printf("  RSS after %d loads <= 1.2x after the first      %.3f   %s\n", nref, rr,
                verdict(rr <= 1.2));
  }
  for (const auto &[mode, v] : logins)
    std::printf("  login during refresh, %s  wall p50 %.0f -> %.0f us, p99 %.0f -> %.0f us; CPU p99 %.0f -> "
                "%.0f us; blocked %.0f -> %.0f\n",
                mode == "same" ? "one core: " : "two cores:", num(v, "base_p50_us"), num(v, "during_p50_us"),
                num(v, "base_p99_us"), num(v, "during_p99_us"), num(v, "base_cpu_p99_us"),
                num(v, "during_cpu_p99_us"), num(v, "base_blocked"), num(v, "during_blocked"));

  std::printf("\n");
  for (const auto &s : results) {
    const double n = static_cast<double>(s.n);
    std::printf("RESULT ik_load_cpu_ms_%d=%.1f\nRESULT ik_load_wall_ms_%d=%.1f\n", s.n,
                med(s.ik, "cpu_s") * 1e3, s.n, med(s.ik, "wall_s") * 1e3);
    std::printf("RESULT ik_rss_kb_per_entity_%d=%.3f\nRESULT ik_peak_mb_%d=%.1f\n", s.n,
                (med(s.ik, "rss_kb") - med(s.ik, "rss0_kb")) / n, s.n, med(s.ik, "hwm_kb") / 1024);
    std::printf("RESULT ik_lookup_ns_%d=%.1f\nRESULT ik_load_idp_only_cpu_ms_%d=%.1f\n", s.n,
                med(s.ik, "lookup_ns"), s.n, med(s.ik_idp, "cpu_s") * 1e3);
    if (!opt.skip_lasso) {
      std::printf("RESULT lasso_tuned_cpu_ms_%d=%.1f\nRESULT lasso_tuned_idp_only_cpu_ms_%d=%.1f\n", s.n,
                  med(s.lasso, "cpu_s") * 1e3, s.n, med(s.lasso, "idp_cpu_s") * 1e3);
      std::printf("RESULT lasso_rss_kb_per_entity_%d=%.3f\nRESULT lasso_peak_mb_%d=%.1f\n", s.n,
                  (med(s.lasso, "rss_kb") - med(s.lasso, "rss0_kb")) / n, s.n, med(s.lasso, "hwm_kb") / 1024);
      std::printf(
          "RESULT ratio_lasso_tuned_over_ik_%d=%.3f\nRESULT ratio_lasso_idp_only_over_ik_idp_%d=%.3f\n", s.n,
          paired(s.ik, "cpu_s", s.lasso, "cpu_s"), s.n, paired(s.ik_idp, "cpu_s", s.lasso, "idp_cpu_s"));
    }
  }
  if (lasso_default)
    std::printf("RESULT lasso_default_cpu_ms_%d=%.1f\n", smallest, num(*lasso_default, "cpu_s") * 1e3);
  if (refresh) {
    const int nref = static_cast<int>(num(*refresh, "n"));
    std::printf("RESULT refresh_rss_ratio=%.4f\nRESULT refresh_rss_ratio_as_is=%.4f\n",
                num(*refresh, fmt::format("rss_{}_kb", nref)) / num(*refresh, "rss_1_kb"),
                num(*refresh, fmt::format("rss_as_is_{}_kb", nref)) / num(*refresh, "rss_as_is_1_kb"));
    std::printf("RESULT refresh_rss_ratio_old_dropped_first=%.4f\n",
                num(*refresh_diag, fmt::format("rss_{}_kb", nref)) / num(*refresh_diag, "rss_1_kb"));
  }
  for (const auto &[mode, v] : logins)
    for (const std::string phase : {"base", "during"})
      for (const char *k : {"p50_us", "p99_us", "max_us", "cpu_p99_us", "cpu_max_us", "blocked"})
        std::printf("RESULT login_%s_%s_%s=%.1f\n", mode.c_str(), phase.c_str(), k, num(v, phase + "_" + k));
  return 0;
}

// --only ik-load: one load in this process, for profilers
// (valgrind --tool=callgrind --toggle-collect='interkonto::load_aggregate*').
int only_main(const Options &opt) {
  const int n = opt.size > 0 ? opt.size : 1000;
  (void)ensure_generated(opt, {n});
  const fs::path dir = opt.workdir;
  const AggregateTrust trust = federation_trust(dir);
  xmlsec::ensure_initialized();
  const std::string text = read_file(aggregate_path(dir, n));
  const double c0 = thread_cpu_seconds();
  const SnapshotPtr snap = load_aggregate(text, trust, now_ms());
  std::printf("%s: %zu entities in %.0f ms CPU\n", opt.only.c_str(), snap->entities().size(),
              (thread_cpu_seconds() - c0) * 1e3);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    const Options opt = parse_options(argc, argv);
    if (!opt.child.empty()) {
      alarm(900); // a stuck child ends; the parent reports it
      if (opt.child == "ik-load") return child_ik_load(opt);
      if (opt.child == "ik-refresh") return child_ik_refresh(opt);
      if (opt.child == "ik-login") return child_ik_login(opt);
      if (opt.child == "lasso") return child_lasso(opt);
      usage(2);
    }
    if (opt.only == "ik-load") return only_main(opt);
    if (!opt.only.empty()) usage(2);
    return parent_main(opt);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bench_metadata: %s\n", e.what());
    return 2;
  }
}

// SPDX-License-Identifier: EUPL-1.2
// bench_validate: SAML Response validation throughput on one core,
// interkonto::ResponseValidator against Lasso 2.8.1 doing the same job, in
// one run, with ratios against baselines measured in that run. Prints
// numbers and ratios only; there is no pass/fail threshold (machines are
// noisy; compare within one run). See tests/bench/README.md.
//
// Variants (each measured for --seconds per round, --rounds rounds,
// interleaved; medians reported):
//   interkonto, schema on     ResponseValidator::validate, default check
//   interkonto, schema off    same with ResponseCheck::schema_validation = false
//   interkonto + replay cache one pass over N distinct pre-signed responses
//                             with an InMemoryReplayCache (fresh each round)
//   lasso default             child process, TZ unset, IdP metadata with the
//                             X.509 certificate
//   lasso tuned               child process, TZ=UTC, IdP metadata with a bare
//                             ds:KeyValue/RSAKeyValue
//   rsa-2048 verify           EVP_PKEY_verify (PKCS#1 v1.5, SHA-256 digest),
//                             the operation `openssl speed rsa2048` times
//
// The Lasso variants run in child processes (this binary re-executed with
// --child) because TZ is process-wide and the default variant must run with
// TZ unset. Parent and children are pinned to the same CPU and only one of
// them runs at a time (the others wait on a pipe).

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
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation_data.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"
#include "unit/saml_fixture.hpp"

extern char **environ;

namespace {

using namespace interkonto;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- options

struct Options {
  int rounds = 5;
  double seconds = 2.0;
  int replay_n = 2000;
  int cpu = 0; // -1: do not pin
  std::optional<double> openssl_speed_verify;
  std::string workdir;                // empty: a temporary directory, removed at exit
  std::string only;                   // run just this variant (profiling): ik-on, ik-off, rsa
  std::string shape = "servicekonto"; // or "lean"
  // child mode
  std::string child; // "lasso-default" or "lasso-tuned"
  int cmd_fd = -1;
  int res_fd = -1;
};

[[noreturn]] void usage(int rc) {
  std::fputs("usage: bench_validate [--rounds N] [--seconds S] [--replay-n N] [--cpu C|-1]\n"
             "                      [--openssl-speed-verify VERIFY_PER_S] [--workdir DIR] [--quick]\n"
             "                      [--only ik-on|ik-off|rsa] [--shape servicekonto|lean]\n"
             "Prints validations/s per variant (median of interleaved rounds) and ratios.\n",
             rc == 0 ? stdout : stderr);
  std::exit(rc);
}

Options parse_options(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--rounds")
      o.rounds = std::max(1, std::stoi(value()));
    else if (a == "--seconds")
      o.seconds = std::max(0.05, std::stod(value()));
    else if (a == "--replay-n")
      o.replay_n = std::max(0, std::stoi(value()));
    else if (a == "--cpu")
      o.cpu = std::stoi(value());
    else if (a == "--openssl-speed-verify")
      o.openssl_speed_verify = std::stod(value());
    else if (a == "--workdir")
      o.workdir = value();
    else if (a == "--shape") {
      o.shape = value();
      if (o.shape != "servicekonto" && o.shape != "lean") usage(2);
    } else if (a == "--only")
      o.only = value();
    else if (a == "--quick") {
      o.rounds = 1;
      o.seconds = 0.5;
      o.replay_n = 300;
    } else if (a == "--child")
      o.child = value();
    else if (a == "--cmd-fd")
      o.cmd_fd = std::stoi(value());
    else if (a == "--res-fd")
      o.res_fd = std::stoi(value());
    else if (a == "--help" || a == "-h")
      usage(0);
    else {
      std::fprintf(stderr, "bench_validate: unknown option %s\n", a.c_str());
      usage(2);
    }
  }
  return o;
}

// ---------------------------------------------------------------- timing

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Sample {
  std::uint64_t count = 0;
  double wall = 0; // seconds
  double cpu = 0;  // thread CPU seconds (user + system)
  double rate() const { return cpu > 0 ? static_cast<double>(count) / cpu : 0; }
  double wall_rate() const { return wall > 0 ? static_cast<double>(count) / wall : 0; }
};

// Runs fn until `seconds` of wall time have passed (after a short warm-up).
Sample measure_for(double seconds, const std::function<void()> &fn) {
  const double warm_end = wall_seconds() + std::min(0.1, seconds / 10);
  while (wall_seconds() < warm_end) fn();
  Sample s;
  const double w0 = wall_seconds();
  const double c0 = thread_cpu_seconds();
  double w = w0;
  do {
    fn();
    ++s.count;
    w = wall_seconds();
  } while (w - w0 < seconds);
  s.cpu = thread_cpu_seconds() - c0;
  s.wall = w - w0;
  return s;
}

// Runs fn(i) for i in [0, n).
Sample measure_n(int n, const std::function<void(int)> &fn) {
  Sample s;
  const double w0 = wall_seconds();
  const double c0 = thread_cpu_seconds();
  for (int i = 0; i < n; ++i) fn(i);
  s.cpu = thread_cpu_seconds() - c0;
  s.wall = wall_seconds() - w0;
  s.count = static_cast<std::uint64_t>(n);
  return s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ---------------------------------------------------------------- fixture

// What every variant validates against (same for interkonto and Lasso).
TimePoint check_now() {
  return test::base_time() + std::chrono::minutes(1);
}
constexpr std::chrono::seconds kSkew{180};

// The response's shape (--shape): the same size, a different element count.
// Lasso's cost grows with the number of elements (it logs per node), so the
// ratio depends on it.
std::string g_shape = "servicekonto";

std::vector<std::pair<std::string, std::vector<std::string>>> response_attributes() {
  if (g_shape == "lean") {
    // Few elements, one large value: an eIDAS CurrentAddress (base64 of an
    // XML address, kept as is) instead of the separate address attributes.
    std::string address =
        "<eidas:CurrentAddressType xmlns:eidas=\"http://eidas.europa.eu/attributes/naturalperson\">"
        "<eidas:Thoroughfare>Königsallee</eidas:Thoroughfare>"
        "<eidas:LocatorDesignator>12</eidas:LocatorDesignator>"
        "<eidas:PostCode>40212</eidas:PostCode><eidas:PostName>Düsseldorf</eidas:PostName>"
        "<eidas:AdminunitFirstline>DE</eidas:AdminunitFirstline>";
    while (address.size() < 1230) address += "<eidas:AddressArea>Stadtbezirk 1, Altstadt</eidas:AddressArea>";
    address += "</eidas:CurrentAddressType>";
    return {
        {"urn:oid:2.5.4.42", {"CLARA"}},
        {"urn:oid:2.5.4.4", {"SCHMIDT"}},
        {"urn:oid:1.2.40.0.10.2.1.1.55", {"1984-03-17"}},
        {"urn:oid:2.5.4.7", {"Düsseldorf"}},
        {"http://eidas.europa.eu/attributes/naturalperson/CurrentAddress", {base64_encode(address)}},
    };
  }
  // "servicekonto": a portal's usual request (reference/servicekonto-profile.md):
  // name, birth date, address, mail, the stable key (bPK2), trust level,
  // login method and the Postfach handle.
  return {
      {"urn:oid:2.5.4.42", {"CLARA"}},
      {"urn:oid:2.5.4.4", {"SCHMIDT"}},
      {"urn:oid:1.2.40.0.10.2.1.1.55", {"1984-03-17"}},
      {"urn:oid:1.3.6.1.5.5.7.9.2", {"KÖLN"}},
      {"urn:oid:2.5.4.16", {"Königsallee 12"}},
      {"urn:oid:2.5.4.17", {"40212"}},
      {"urn:oid:2.5.4.7", {"Düsseldorf"}},
      {"urn:oid:1.2.40.0.10.2.1.1.225599", {"DE"}},
      {"urn:oid:0.9.2342.19200300.100.1.3", {"clara.schmidt@example.de"}},
      {"urn:oid:1.3.6.1.4.1.25484.494450.3", {"Qm9yZ2VyLVBLMi1kZXItQ2xhcmEtU2NobWlkdC0xOTg0"}},
      {"urn:oid:1.2.40.0.10.2.1.1.261.94", {"STORK-QAA-Level-3"}},
      {"urn:oid:1.3.6.1.4.1.25484.494450.2", {"eID"}},
      {"urn:oid:2.5.4.18", {"6f1c2e9a-3b7d-4c52-9e0a-7d4b2f8c1a63"}},
  };
}

test::ResponseSpec response_spec(int index) {
  test::ResponseSpec s;
  if (index >= 0) {
    s.response_id = fmt::format("_resp-{:06}", index);
    s.assertion_id = fmt::format("_assert-{:06}", index);
  }
  s.name_id = "AAdzZWNyZXQxMjM0NTY3ODkwYWJjZGVmZ2hpams";
  s.attributes = response_attributes();
  return s;
}

struct BnFree {
  void operator()(BIGNUM *b) const noexcept { BN_free(b); }
};

std::string bn_base64(const EVP_PKEY *pkey, const char *param) {
  BIGNUM *raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, param, &raw) != 1) throw std::runtime_error("EVP_PKEY_get_bn_param failed");
  std::unique_ptr<BIGNUM, BnFree> bn(raw);
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn.get())), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char *>(bytes.data()));
  return base64_encode(bytes);
}

// IdP metadata with a bare public key (ds:KeyValue/RSAKeyValue): Lasso "tuned".
std::string idp_metadata_keyvalue_xml(const Credential &cred) {
  const EVP_PKEY *pkey = cred.key.native();
  return fmt::format(
      R"(<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{0}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>{1}</ds:Modulus><ds:Exponent>{2}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{0}/sso"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{0}/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>)",
      test::kIdp, bn_base64(pkey, OSSL_PKEY_PARAM_RSA_N), bn_base64(pkey, OSSL_PKEY_PARAM_RSA_E));
}

void write_file(const fs::path &p, const std::string &content) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << content;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

std::string read_file(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------- Lasso side

struct GObjectUnref {
  void operator()(gpointer p) const noexcept {
    if (p) g_object_unref(p);
  }
};
template <class T> using GPtr = std::unique_ptr<T, GObjectUnref>;

template <class T> T *as(gpointer obj, GType type) {
  if (!obj || !g_type_check_instance_is_a(static_cast<GTypeInstance *>(obj), type)) return nullptr;
  return static_cast<T *>(obj);
}

bool eq(const char *a, std::string_view b) {
  return a && std::string_view(a) == b;
}

// What a Lasso-based SP has to do after lasso_login_process_authn_response_msg
// to match interkonto's checks. Lasso itself checks: issuer known, signature
// (metadata key), status Success, assertion issuer = response issuer.
// Returns an empty string when valid, else the failed check.
struct LassoOutcome {
  std::string error;
  std::string name_id;
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes;
};

LassoOutcome lasso_validate(LassoServer *server, std::string &b64, std::time_t now) {
  LassoOutcome out;
  GPtr<LassoLogin> login(lasso_login_new(server));
  if (!login) return {"lasso_login_new failed", {}, {}};
  const int rc = lasso_login_process_authn_response_msg(login.get(), b64.data());
  if (rc != 0) return {fmt::format("lasso error {}: {}", rc, lasso_strerror(rc)), {}, {}};
  LassoProfile *profile = &login->parent;
  // lasso_profile_get_signature_status() reports the Response's own signature
  // (absent here); the assertion signature failing makes rc non-zero.
  auto *resp = as<LassoSamlp2Response>(profile->response, lasso_samlp2_response_get_type());
  if (!resp) return {"no samlp2:Response", {}, {}};
  // Destination (Lasso does not check it).
  if (!eq(resp->parent.Destination, test::kAcs)) return {"destination", {}, {}};
  // InResponseTo: Lasso checks it only for a login restored from the dump of
  // the login that sent the request; emulated by a string compare.
  if (!eq(resp->parent.InResponseTo, test::kRequestId)) return {"in_response_to", {}, {}};
  // Exactly one assertion (Lasso accepts several).
  if (g_list_length(resp->Assertion) != 1 || resp->EncryptedAssertion) return {"assertion count", {}, {}};
  auto *a = as<LassoSaml2Assertion>(resp->Assertion->data, lasso_saml2_assertion_get_type());
  if (!a) return {"no saml2:Assertion", {}, {}};
  // Conditions NotBefore/NotOnOrAfter and AudienceRestriction (Lasso helpers).
  if (lasso_saml2_assertion_validate_time_checks(a, static_cast<unsigned>(kSkew.count()), now) !=
      LASSO_SAML2_ASSERTION_VALID)
    return {"conditions time", {}, {}};
  if (!lasso_saml2_assertion_has_audience_restriction(a) ||
      lasso_saml2_assertion_validate_audience(a, test::kSp) != LASSO_SAML2_ASSERTION_VALID)
    return {"audience", {}, {}};
  // Bearer SubjectConfirmation: Recipient, NotOnOrAfter, InResponseTo.
  LassoSaml2Subject *subject = a->Subject;
  if (!subject || !subject->SubjectConfirmation) return {"subject confirmation", {}, {}};
  LassoSaml2SubjectConfirmation *sc = subject->SubjectConfirmation;
  if (!eq(sc->Method, "urn:oasis:names:tc:SAML:2.0:cm:bearer")) return {"sc method", {}, {}};
  LassoSaml2SubjectConfirmationData *scd = sc->SubjectConfirmationData;
  if (!scd || !eq(scd->Recipient, test::kAcs)) return {"recipient", {}, {}};
  if (!eq(scd->InResponseTo, test::kRequestId)) return {"sc in_response_to", {}, {}};
  const auto sc_noa = scd->NotOnOrAfter ? parse_datetime(scd->NotOnOrAfter) : std::nullopt;
  if (!sc_noa || std::chrono::system_clock::to_time_t(*sc_noa + kSkew) <= now) return {"sc expired", {}, {}};
  // The result a caller uses: NameID and attribute values.
  if (!subject->NameID || !subject->NameID->content) return {"name id", {}, {}};
  out.name_id = subject->NameID->content;
  for (GList *st = a->AttributeStatement; st; st = st->next) {
    auto *stmt = as<LassoSaml2AttributeStatement>(st->data, lasso_saml2_attribute_statement_get_type());
    if (!stmt) continue;
    for (GList *at = stmt->Attribute; at; at = at->next) {
      auto *attr = as<LassoSaml2Attribute>(at->data, lasso_saml2_attribute_get_type());
      if (!attr || !attr->Name) continue;
      std::vector<std::string> values;
      for (GList *v = attr->AttributeValue; v; v = v->next) {
        auto *av = as<LassoSaml2AttributeValue>(v->data, lasso_saml2_attribute_value_get_type());
        if (!av) continue;
        std::string text;
        for (GList *n = av->any; n; n = n->next) {
          auto *t = as<LassoMiscTextNode>(n->data, lasso_misc_text_node_get_type());
          if (t && t->text_child && t->content) text += t->content;
        }
        values.push_back(std::move(text));
      }
      out.attributes.emplace_back(attr->Name, std::move(values));
    }
  }
  return out;
}

void quiet_log(const gchar *, GLogLevelFlags, const gchar *, gpointer) {}

struct FileClose {
  void operator()(FILE *f) const noexcept {
    if (f) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<FILE, FileClose>;

bool read_line(FILE *f, std::string &line) {
  line.clear();
  int c = 0;
  while ((c = std::fgetc(f)) != EOF) {
    if (c == '\n') return true;
    line.push_back(static_cast<char>(c));
  }
  return !line.empty();
}

// Child mode: one Lasso variant, driven over two pipes by the parent.
int child_main(const Options &opt) {
  FilePtr in(fdopen(opt.cmd_fd, "r"));
  FilePtr out(fdopen(opt.res_fd, "w"));
  if (!in || !out) return 3;
  auto reply = [&](const std::string &s) {
    std::fputs((s + "\n").c_str(), out.get());
    std::fflush(out.get());
  };
  const bool tuned = opt.child == "lasso-tuned";
  if (!tuned && opt.child != "lasso-default") {
    reply("error unknown child variant");
    return 3;
  }
  const char *tz = std::getenv("TZ");
  if (tuned ? !eq(tz, "UTC") : tz != nullptr) {
    reply("error TZ is not as the variant requires");
    return 3;
  }
  tzset();
  if (lasso_init() != 0) {
    reply("error lasso_init failed");
    return 3;
  }
  int status = 0;
  try {
    const fs::path dir = opt.workdir;
    const std::string sp_md = read_file(dir / "sp-metadata.xml");
    const std::string idp_md =
        read_file(dir / (tuned ? "idp-metadata-keyvalue.xml" : "idp-metadata-cert.xml"));
    std::string good = read_file(dir / "response.b64");
    std::string tampered = read_file(dir / "response-tampered.b64");
    std::string wrong_key = read_file(dir / "response-wrong-key.b64");
    const std::time_t now = std::chrono::system_clock::to_time_t(check_now());

    GPtr<LassoServer> server(lasso_server_new_from_buffers(sp_md.c_str(), nullptr, nullptr, nullptr));
    if (!server) throw std::runtime_error("lasso_server_new_from_buffers failed");
    const int rc = lasso_server_add_provider_from_buffer(server.get(), LASSO_PROVIDER_ROLE_IDP,
                                                         idp_md.c_str(), nullptr, nullptr);
    if (rc != 0)
      throw std::runtime_error(fmt::format("lasso_server_add_provider_from_buffer: {}", lasso_strerror(rc)));

    // Self-check: the valid response passes every check with its content,
    // and Lasso really verifies the signature (tampered / foreign key fail).
    const LassoOutcome ok = lasso_validate(server.get(), good, now);
    if (!ok.error.empty()) throw std::runtime_error("valid response rejected: " + ok.error);
    if (ok.attributes.size() != response_attributes().size() ||
        ok.attributes.front().second.front() != "CLARA")
      throw std::runtime_error("attributes not read back");
    const guint handler = g_log_set_handler(
        "Lasso", static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION),
        quiet_log, nullptr);
    const LassoOutcome bad1 = lasso_validate(server.get(), tampered, now);
    const LassoOutcome bad2 = lasso_validate(server.get(), wrong_key, now);
    g_log_remove_handler("Lasso", handler);
    if (bad1.error.empty())
      throw std::runtime_error("Lasso accepted a tampered response: signature not verified");
    if (bad2.error.empty()) throw std::runtime_error("Lasso accepted a response signed by a foreign key");

    reply(fmt::format("ready TZ={} tampered:'{}' foreign-key:'{}'", tz ? tz : "(unset)", bad1.error,
                      bad2.error));
    std::string line;
    while (read_line(in.get(), line)) {
      if (line == "quit") break;
      if (line.rfind("run ", 0) != 0) {
        reply("error bad command");
        continue;
      }
      const double seconds = std::stod(line.substr(4));
      std::string failure;
      const Sample s = measure_for(seconds, [&] {
        const LassoOutcome r = lasso_validate(server.get(), good, now);
        if (!r.error.empty() && failure.empty()) failure = r.error;
      });
      if (!failure.empty())
        reply("error validation failed during the run: " + failure);
      else
        reply(fmt::format("result {} {:.9f} {:.9f}", s.count, s.wall, s.cpu));
    }
  } catch (const std::exception &e) {
    reply(std::string("error ") + e.what());
    status = 4;
  }
  lasso_shutdown();
  return status;
}

// Parent's handle on a child.
class Child {
public:
  Child(std::string variant, const std::string &workdir) : variant_(std::move(variant)) {
    int to_child[2];
    int from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    // Environment: TZ removed (default) or TZ=UTC (tuned); all else inherited.
    std::vector<std::string> env;
    for (char **e = environ; *e; ++e)
      if (std::strncmp(*e, "TZ=", 3) != 0) env.emplace_back(*e);
    if (variant_ == "lasso-tuned") env.emplace_back("TZ=UTC");
    std::vector<std::string> args = {"bench_validate",
                                     "--child",
                                     variant_,
                                     "--workdir",
                                     workdir,
                                     "--cmd-fd",
                                     std::to_string(to_child[0]),
                                     "--res-fd",
                                     std::to_string(from_child[1]),
                                     "--shape",
                                     g_shape};
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char *> envp;
    for (auto &e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string self = fs::read_symlink("/proc/self/exe").string();

    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Only async-signal-safe calls until execve: keep the child's two pipe
      // ends open across it, all other descriptors close (O_CLOEXEC).
      if (fcntl(to_child[0], F_SETFD, 0) != 0 || fcntl(from_child[1], F_SETFD, 0) != 0) _exit(127);
      execve(self.c_str(), argv.data(), envp.data());
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    to_.reset(fdopen(to_child[1], "w"));
    from_.reset(fdopen(from_child[0], "r"));
    try {
      if (!to_ || !from_) throw std::runtime_error("fdopen failed");
      std::string line;
      if (!read_line(from_.get(), line)) throw std::runtime_error(variant_ + ": child exited during setup");
      if (line.rfind("ready ", 0) != 0) throw std::runtime_error(variant_ + ": " + line);
      ready_info_ = line.substr(6);
    } catch (...) {
      shutdown();
      throw;
    }
  }
  ~Child() { shutdown(); }
  Child(const Child &) = delete;
  Child &operator=(const Child &) = delete;

  const std::string &ready_info() const { return ready_info_; }

  Sample run(double seconds) {
    std::fputs(fmt::format("run {}\n", seconds).c_str(), to_.get());
    std::fflush(to_.get());
    std::string line;
    if (!read_line(from_.get(), line)) throw std::runtime_error(variant_ + ": child died");
    Sample s;
    unsigned long long count = 0;
    if (std::sscanf(line.c_str(), "result %llu %lf %lf", &count, &s.wall, &s.cpu) != 3)
      throw std::runtime_error(variant_ + ": " + line);
    s.count = count;
    return s;
  }

private:
  // Closing the command pipe ends the child (EOF); then reap it.
  void shutdown() noexcept {
    if (to_) {
      std::fputs("quit\n", to_.get());
      std::fflush(to_.get());
      to_.reset();
    }
    from_.reset();
    if (pid_ > 0) {
      int st = 0;
      waitpid(pid_, &st, 0);
      pid_ = -1;
    }
  }

  std::string variant_;
  pid_t pid_ = -1;
  FilePtr to_;
  FilePtr from_;
  std::string ready_info_;
};

// ---------------------------------------------------------------- RSA baseline

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX *c) const noexcept { EVP_PKEY_CTX_free(c); }
};

// EVP_PKEY_verify of an RSA-2048 PKCS#1 v1.5 signature over a SHA-256 digest,
// context set up once: what `openssl speed rsa2048` counts as a verify.
class RsaVerifyLoop {
public:
  explicit RsaVerifyLoop(const PrivateKey &key) {
    digest_.fill(0x5a);
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> sctx(EVP_PKEY_CTX_new(key.native(), nullptr));
    std::size_t len = 0;
    if (!sctx || EVP_PKEY_sign_init(sctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(sctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(sctx.get(), EVP_sha256()) != 1 ||
        EVP_PKEY_sign(sctx.get(), nullptr, &len, digest_.data(), digest_.size()) != 1)
      throw std::runtime_error("RSA sign setup failed");
    sig_.resize(len);
    if (EVP_PKEY_sign(sctx.get(), sig_.data(), &len, digest_.data(), digest_.size()) != 1)
      throw std::runtime_error("RSA sign failed");
    sig_.resize(len);
    const PublicKey pub = key.public_key();
    vctx_.reset(EVP_PKEY_CTX_new(pub.native(), nullptr));
    if (!vctx_ || EVP_PKEY_verify_init(vctx_.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(vctx_.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(vctx_.get(), EVP_sha256()) != 1)
      throw std::runtime_error("RSA verify setup failed");
    if (!verify()) throw std::runtime_error("RSA self-verify failed");
  }
  bool verify() {
    return EVP_PKEY_verify(vctx_.get(), sig_.data(), sig_.size(), digest_.data(), digest_.size()) == 1;
  }

private:
  std::array<unsigned char, 32> digest_{};
  std::vector<unsigned char> sig_;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> vctx_;
};

// ---------------------------------------------------------------- parent

void pin_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    throw std::runtime_error(fmt::format("sched_setaffinity(CPU {}) failed: {}", cpu, std::strerror(errno)));
}

class TempDir {
public:
  explicit TempDir(const std::string &requested) {
    if (!requested.empty()) {
      path_ = requested;
      fs::create_directories(path_);
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "interkonto-bench.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    owned_ = true;
  }
  ~TempDir() {
    std::error_code ec;
    if (owned_) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const fs::path &path() const { return path_; }

private:
  fs::path path_;
  bool owned_ = false;
};

struct Variant {
  std::string key;   // machine-readable
  std::string label; // human-readable
  std::function<Sample()> run;
  std::vector<Sample> samples;
  double median_rate() const {
    std::vector<double> r;
    for (const auto &s : samples) r.push_back(s.rate());
    return median(r);
  }
  double median_wall_rate() const {
    std::vector<double> r;
    for (const auto &s : samples) r.push_back(s.wall_rate());
    return median(r);
  }
  double min_rate() const {
    double m = 1e300;
    for (const auto &s : samples) m = std::min(m, s.rate());
    return m;
  }
  double max_rate() const {
    double m = 0;
    for (const auto &s : samples) m = std::max(m, s.rate());
    return m;
  }
};

// Median over rounds of the per-round ratio a/b (paired: drift cancels).
double paired_ratio(const Variant &a, const Variant &b) {
  std::vector<double> r;
  for (std::size_t i = 0; i < std::min(a.samples.size(), b.samples.size()); ++i)
    if (b.samples[i].rate() > 0) r.push_back(a.samples[i].rate() / b.samples[i].rate());
  return median(r);
}

std::string thousands(double v) {
  const auto n = static_cast<long long>(v + 0.5);
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

int parent_main(const Options &opt) {
  std::signal(SIGPIPE, SIG_IGN); // a dead child shows as a read error, not as a signal
  pin_cpu(opt.cpu);
  xmlsec::ensure_initialized();

  // ---- generate the IdP credential, responses and metadata
  const Credential &idp = test::idp_credential();
  const std::string xml = test::build_response(response_spec(-1));
  const std::string b64 = base64_encode(xml);
  test::ResponseSpec wrong_spec = response_spec(-1);
  wrong_spec.signer = &test::attacker_credential();
  const std::string wrong_b64 = base64_encode(test::build_response(wrong_spec));
  const std::string tampered_b64 = base64_encode(test::replace_once(xml, ">Düsseldorf<", ">Duesseldorf<"));

  TempDir dir(opt.workdir);
  SpMetadataOptions spo;
  spo.entity_id = test::kSp;
  spo.acs_urls = {test::kAcs};
  spo.authn_requests_signed = false;
  write_file(dir.path() / "sp-metadata.xml", make_sp_metadata(spo));
  write_file(dir.path() / "idp-metadata-cert.xml", test::idp_metadata_xml(idp));
  write_file(dir.path() / "idp-metadata-keyvalue.xml", idp_metadata_keyvalue_xml(idp));
  write_file(dir.path() / "response.xml", xml);
  write_file(dir.path() / "response.b64", b64);
  write_file(dir.path() / "response-tampered.b64", tampered_b64);
  write_file(dir.path() / "response-wrong-key.b64", wrong_b64);

  // ---- interkonto: validators and self-check
  const auto idps = test::idp_settings(parse_metadata(test::idp_metadata_xml(idp)).front());
  const ResponseValidator validator(idps, {}, nullptr); // null replay cache: the same response is reused
  ResponseCheck check_on = test::base_check();
  check_on.now = check_now();
  check_on.clock_skew = kSkew;
  ResponseCheck check_off = check_on;
  check_off.schema_validation = false;
  {
    const AuthnResult r = validator.validate(b64, check_on);
    if (r.attributes.size() != response_attributes().size() || r.attributes.front().values.front() != "CLARA")
      throw std::runtime_error("interkonto: attributes not read back");
    for (const auto *bad : {&tampered_b64, &wrong_b64}) {
      try {
        validator.validate(*bad, check_on);
        throw std::runtime_error("interkonto accepted a tampered / foreign-key response");
      } catch (const Error &e) {
        if (e.code() != ErrorCode::signature_invalid && e.code() != ErrorCode::untrusted_key)
          throw std::runtime_error(fmt::format("interkonto: unexpected error {}", to_string(e.code())));
      }
    }
  }

  RsaVerifyLoop rsa(idp.key);

  std::vector<std::string> distinct;
  if (opt.only.empty()) {
    distinct.reserve(static_cast<std::size_t>(opt.replay_n));
    for (int i = 0; i < opt.replay_n; ++i)
      distinct.push_back(base64_encode(test::build_response(response_spec(i))));
  }

  // ---- profiling mode: one in-process variant only
  if (!opt.only.empty()) {
    std::function<void()> fn;
    if (opt.only == "ik-on")
      fn = [&] { (void)validator.validate(b64, check_on); };
    else if (opt.only == "ik-off")
      fn = [&] { (void)validator.validate(b64, check_off); };
    else if (opt.only == "rsa")
      fn = [&] { (void)rsa.verify(); };
    else
      usage(2);
    const Sample s = measure_for(opt.seconds, fn);
    std::printf("%s: %s validations/s (CPU time), %llu in %.2f s\n", opt.only.c_str(),
                thousands(s.rate()).c_str(), static_cast<unsigned long long>(s.count), s.cpu);
    return 0;
  }

  Child lasso_default("lasso-default", dir.path().string());
  Child lasso_tuned("lasso-tuned", dir.path().string());

  std::vector<Variant> v;
  v.push_back({"interkonto_schema_on",
               "interkonto, schema on",
               [&] { return measure_for(opt.seconds, [&] { (void)validator.validate(b64, check_on); }); },
               {}});
  v.push_back({"interkonto_schema_off",
               "interkonto, schema off",
               [&] { return measure_for(opt.seconds, [&] { (void)validator.validate(b64, check_off); }); },
               {}});
  v.push_back({"lasso_default",
               "Lasso default (TZ unset, cert)",
               [&] { return lasso_default.run(opt.seconds); },
               {}});
  v.push_back(
      {"lasso_tuned", "Lasso tuned (TZ=UTC, bare key)", [&] { return lasso_tuned.run(opt.seconds); }, {}});
  v.push_back({"rsa2048_verify",
               "RSA-2048 verify (EVP_PKEY_verify)",
               [&] {
                 return measure_for(std::min(opt.seconds, 1.0), [&] {
                   if (!rsa.verify()) throw std::runtime_error("RSA verify failed");
                 });
               },
               {}});
  if (!distinct.empty())
    v.push_back({"interkonto_schema_on_replay",
                 fmt::format("interkonto, schema on, replay cache, {} IDs", distinct.size()),
                 [&] {
                   const ResponseValidator with_cache(idps, {}, std::make_shared<InMemoryReplayCache>());
                   return measure_n(static_cast<int>(distinct.size()), [&](int i) {
                     (void)with_cache.validate(distinct[static_cast<std::size_t>(i)], check_on);
                   });
                 },
                 {}});

  std::printf("bench_validate: SAML Response validation, one core\n");
  std::printf(
      "  response     %s bytes XML (%s base64), RSA-2048, rsa-sha256 + sha256, assertion signed,\n"
      "               response unsigned, %zu attributes (--shape %s), KeyInfo with the X.509 certificate\n",
      thousands(static_cast<double>(xml.size())).c_str(), thousands(static_cast<double>(b64.size())).c_str(),
      response_attributes().size(), g_shape.c_str());
  std::printf("  CPU          %s; rates are per CPU-second of the measuring thread (user + system)\n",
              opt.cpu < 0 ? "not pinned" : fmt::format("all variants pinned to CPU {}", opt.cpu).c_str());
  std::printf("  libraries    Lasso %s (built against; runtime is 2.8.1: %s), %s, xmlsec %s\n",
              BENCH_LASSO_VERSION, lasso_check_version(2, 8, 1, LASSO_CHECK_VERSION_EXACT) ? "yes" : "no",
              OpenSSL_version(OPENSSL_VERSION), XMLSEC_VERSION);
  std::printf(
      "  interkonto   ResponseValidator::validate on the base64 form value, now = issue + 1 min, every\n"
      "               check; replay cache = nullptr (the same response is validated again and again);\n"
      "               the replay-cache row validates %zu distinct pre-signed responses once each\n",
      distinct.size());
  std::printf(
      "  Lasso        new LassoLogin + lasso_login_process_authn_response_msg + the checks Lasso leaves\n"
      "               to the caller (Destination, one assertion, time/audience helpers, bearer\n"
      "               Recipient/NotOnOrAfter, NameID and attribute values read out); InResponseTo\n"
      "               emulated by string compare; no replay cache\n");
  std::printf("  lasso-default child: %s\n", lasso_default.ready_info().c_str());
  std::printf("  lasso-tuned child:   %s\n", lasso_tuned.ready_info().c_str());
  std::printf("  %d rounds x %.1f s per variant, interleaved; order rotates each round\n\n", opt.rounds,
              opt.seconds);
  std::fflush(stdout);

  for (int r = 0; r < opt.rounds; ++r) {
    std::printf("round %d:", r + 1);
    std::vector<std::size_t> order(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) order[i] = (i + static_cast<std::size_t>(r)) % v.size();
    std::vector<Sample> round(v.size());
    for (std::size_t i : order) round[i] = v[i].run();
    for (std::size_t i = 0; i < v.size(); ++i) {
      v[i].samples.push_back(round[i]);
      std::printf("  %s=%s", v[i].key.c_str(), thousands(round[i].rate()).c_str());
    }
    std::printf("\n");
    std::fflush(stdout);
  }

  std::printf("\n%-44s %10s %10s %10s %12s\n", "variant", "median/s", "min/s", "max/s", "wall med/s");
  for (const auto &x : v)
    std::printf("%-44s %10s %10s %10s %12s\n", x.label.c_str(), thousands(x.median_rate()).c_str(),
                thousands(x.min_rate()).c_str(), thousands(x.max_rate()).c_str(),
                thousands(x.median_wall_rate()).c_str());

  const Variant &on = v[0], &off = v[1], &ld = v[2], &lt = v[3], &rsa_v = v[4];
  std::printf(
      "\nratios (median over rounds of the per-round ratio; issue targets in brackets, for reading only)\n");
  const double r_on_lt = paired_ratio(on, lt), r_on_ld = paired_ratio(on, ld),
               r_off_lt = paired_ratio(off, lt), r_off_ld = paired_ratio(off, ld),
               r_on_rsa = paired_ratio(on, rsa_v), r_off_rsa = paired_ratio(off, rsa_v),
               r_lt_rsa = paired_ratio(lt, rsa_v);
  std::printf("  interkonto schema on  / Lasso tuned    %6.2fx   [>= 2x]\n", r_on_lt);
  std::printf("  interkonto schema on  / Lasso default  %6.2fx   [>= 8x]\n", r_on_ld);
  std::printf("  interkonto schema off / Lasso tuned    %6.2fx\n", r_off_lt);
  std::printf("  interkonto schema off / Lasso default  %6.2fx\n", r_off_ld);
  std::printf("  Lasso tuned / Lasso default            %6.2fx\n", paired_ratio(lt, ld));
  std::printf("  interkonto schema on  / RSA-2048 verify  %.4f  (RSA verify = %.1f %% of one validation)\n",
              r_on_rsa, 100 * r_on_rsa);
  std::printf("  interkonto schema off / RSA-2048 verify  %.4f  (RSA verify = %.1f %% of one validation)\n",
              r_off_rsa, 100 * r_off_rsa);
  std::printf("  Lasso tuned           / RSA-2048 verify  %.4f\n", r_lt_rsa);
  if (v.size() > 5) std::printf("  interkonto with replay cache / without   %.3f\n", paired_ratio(v[5], on));
  if (opt.openssl_speed_verify && *opt.openssl_speed_verify > 0)
    std::printf("  interkonto schema on / `openssl speed rsa2048` verify (%s/s, separate process)  %.4f\n",
                thousands(*opt.openssl_speed_verify).c_str(), on.median_rate() / *opt.openssl_speed_verify);

  // ---- where interkonto's time goes: its stages timed alone (internal API)
  {
    const double stage_s = std::min(opt.seconds, 1.0);
    xml::DocPtr doc = xml::parse(xml, default_message_limit);
    xmlNode *root = xmlDocGetRootElement(doc.get());
    xml::register_id(doc.get(), root);
    xmlNode *assertion = xml::first_child(root, xml::ns_saml, "Assertion");
    xml::register_id(doc.get(), assertion);
    const auto keys = idps.front().entity->idp->signing_keys();
    const AlgorithmPolicy policy;
    struct Stage {
      const char *name;
      std::function<void()> fn;
    };
    const std::vector<Stage> stages = {
        {"base64_decode (form value)", [&] { (void)base64_decode(b64); }},
        {"xml::parse", [&] { (void)xml::parse(xml, default_message_limit); }},
        {"xml::validate_schema (parsed doc)", [&] { xml::validate_schema(doc.get()); }},
        {"xmlsec::verify_enveloped (assertion)",
         [&] { (void)xmlsec::verify_enveloped(doc.get(), assertion, keys, policy); }},
        {"  of which RSA-2048 verify", [&] { (void)rsa.verify(); }},
    };
    const double total_us = 1e6 / on.median_rate();
    std::printf("\ninterkonto schema on, %.1f us per validation; stages timed alone (%.1f s each):\n",
                total_us, stage_s);
    double sum_us = 0;
    for (const auto &st : stages) {
      const double us = 1e6 / measure_for(stage_s, st.fn).rate();
      if (st.name[0] != ' ') sum_us += us;
      std::printf("  %-40s %8.1f us  %5.1f %%\n", st.name, us, 100 * us / total_us);
    }
    std::printf("  %-40s %8.1f us  %5.1f %%\n", "rest (checks, result, frees)", total_us - sum_us,
                100 * (total_us - sum_us) / total_us);
  }

  std::printf("\n");
  for (const auto &x : v) std::printf("RESULT %s_per_s=%.0f\n", x.key.c_str(), x.median_rate());
  std::printf("RESULT ratio_on_over_lasso_tuned=%.3f\nRESULT ratio_on_over_lasso_default=%.3f\n"
              "RESULT ratio_off_over_lasso_tuned=%.3f\nRESULT ratio_on_over_rsa_verify=%.5f\n",
              r_on_lt, r_on_ld, r_off_lt, r_on_rsa);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    const Options opt = parse_options(argc, argv);
    g_shape = opt.shape;
    if (!opt.child.empty()) return child_main(opt);
    // interkonto runs in the default environment too (TZ unset); the Lasso
    // children get their own environment (see Child).
    unsetenv("TZ");
    tzset();
    return parent_main(opt);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bench_validate: %s\n", e.what());
    return 2;
  }
}

// SPDX-License-Identifier: EUPL-1.2
// interkonto-clara: one party of the Clara journey (examples/clara/parties.hpp)
// behind cpp-httplib, over HTTPS on its own loopback address.
//
//   interkonto-clara --role nrw|hamburg|servicekonto|portal
//       --base-url https://127.0.0.3:8443 [--listen ADDR] [--port N]
//       --tls-cert PEM --tls-key PEM | --insecure-http
//       --saml-key PEM --saml-cert PEM [--saml-enc-key PEM --saml-enc-cert PEM]
//       --federation-url https://127.0.0.2:8443/aggregate.xml --federation-cert PEM
//       [--ca PEM] [--backing-file FILE] [--retry DURATION]
//       [--portal BASE_URL]... [--discovery-secret-file FILE]   (servicekonto)
//       [--servicekonto BASE_URL] [--min-trust-level N]         (portal)
//   interkonto-clara --role ... --base-url ... --saml-key ... --saml-cert ... --print-metadata
//
// The federation's metadata comes from a MetadataProvider (HttpSource with
// the demo CA, verified against the pinned federation certificate, backing
// file, background refresh). A party whose first fetch fails and that has no
// usable backing file still starts: it answers with the "federation
// unavailable" page (503) while the provider keeps retrying.
//
// Prints "listening on https://ADDR:PORT/" on stdout once it accepts
// connections; logs go to stderr. SIGINT and SIGTERM shut it down cleanly.

#include <httplib.h>

#include <openssl/rand.h>
#include <sys/prctl.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/log.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/metadata_provider.hpp"

#include "common/httplib_adapter.hpp"
#include "parties.hpp"

namespace ik = interkonto;

namespace {

std::string g_role = "clara"; // log prefix
constexpr std::size_t kMaxBody = 1024 * 1024;

void log_line(std::string_view msg) {
  static std::mutex m;
  const std::lock_guard<std::mutex> lock(m);
  std::cerr << "clara[" << g_role << "]: " << msg << '\n';
}

std::string_view level_name(ik::LogLevel level) {
  switch (level) {
  case ik::LogLevel::debug:
    return "debug";
  case ik::LogLevel::info:
    return "info";
  case ik::LogLevel::warning:
    return "warning";
  case ik::LogLevel::error:
    return "error";
  }
  return "?";
}

using ik::examples::from_interkonto;
using ik::examples::to_interkonto;

// "https://127.0.0.3:8443" -> scheme, host, port.
struct UrlParts {
  std::string scheme;
  std::string host;
  int port = 0;
};

std::optional<UrlParts> split_base_url(std::string_view url) {
  UrlParts p;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  p.scheme = std::string(url.substr(0, sep));
  if (p.scheme != "https" && p.scheme != "http") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  if (rest.empty() || rest.find('/') != std::string_view::npos || rest.find('?') != std::string_view::npos)
    return std::nullopt;
  std::string_view port_text;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    p.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = rest.rfind(':');
    p.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (p.host.empty()) return std::nullopt;
  if (port_text.empty()) {
    p.port = p.scheme == "https" ? 443 : 80;
  } else {
    int v = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
      if (v > 65535) return std::nullopt;
    }
    p.port = v;
  }
  return p;
}

std::string read_text_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ik::Error(ik::ErrorCode::config_invalid, fmt::format("cannot read {}", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string random_secret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw ik::Error(ik::ErrorCode::internal, "RAND_bytes failed");
  std::string out;
  for (const unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string trim_copy(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string_view default_display_name(std::string_view role, bool en) {
  if (role == "nrw") return "Servicekonto.NRW";
  if (role == "hamburg") return en ? "Hamburg service account" : "Servicekonto Hamburg";
  if (role == "servicekonto") return en ? "Thuringia service account" : "Servicekonto Thüringen";
  return en ? "Thuringia portal (building enquiry)" : "Thüringen-Portal (Bauvoranfrage)";
}

using Handler = std::function<ik::HttpResponse(const ik::HttpRequest &)>;

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"interkonto-clara: one party of the Clara journey (five-party demo on loopback)"};
  std::string role, base_url, listen, tls_cert, tls_key, saml_key, saml_cert, federation_url, federation_cert,
      ca_file, backing_file, display_name, display_name_en, enc_key, enc_cert, discovery_secret_file,
      servicekonto_url, retry_text = "PT10S";
  std::vector<std::string> portals;
  int port = -1;
  int min_trust_level = 3;
  bool insecure_http = false, print_metadata = false, exit_with_parent = false;

  app.add_option("--role", role, "Which party")
      ->required()
      ->check(CLI::IsMember({"nrw", "hamburg", "servicekonto", "portal"}));
  app.add_option("--base-url", base_url, "The party's public base URL, e.g. https://127.0.0.3:8443")
      ->required();
  app.add_option("--listen", listen, "Address to listen on (default: the base URL's host)");
  app.add_option("--port", port, "Port to listen on (default: the base URL's port)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--tls-cert", tls_cert, "TLS server certificate (PEM, may hold the chain)")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "Private key of --tls-cert (PEM)")->check(CLI::ExistingFile);
  app.add_flag("--insecure-http", insecure_http,
               "Development only: plain HTTP, cookies without Secure (base URL must be http://)");
  app.add_option("--saml-key", saml_key, "SAML signing and decryption key (PEM)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--saml-cert", saml_cert, "Certificate of --saml-key (PEM), published in metadata")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--saml-enc-key", enc_key, "Separate SAML encryption key (PEM; default: --saml-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--saml-enc-cert", enc_cert, "Certificate of --saml-enc-key (PEM)")
      ->check(CLI::ExistingFile);
  app.add_option("--display-name", display_name, "mdui:DisplayName, German (default per role)");
  app.add_option("--display-name-en", display_name_en, "mdui:DisplayName, English (default per role)");
  app.add_option("--federation-url", federation_url,
                 "The signed aggregate at the metadata server (http(s) URL, or a file path)");
  app.add_option("--federation-cert", federation_cert, "Pinned certificate of the federation's signing key")
      ->check(CLI::ExistingFile);
  app.add_option("--ca", ca_file, "Extra trust anchor (PEM) for the HTTPS fetch, e.g. the demo CA")
      ->check(CLI::ExistingFile);
  app.add_option("--backing-file", backing_file,
                 "Keeps the last verified aggregate (used when the fetch fails)");
  app.add_option("--retry", retry_text, "Retry interval after a failed metadata fetch (ISO 8601 duration)")
      ->capture_default_str();
  app.add_option(
      "--portal", portals,
      "servicekonto: base URL of a portal it serves (repeatable; none: every SP of the federation)");
  app.add_option("--discovery-secret-file", discovery_secret_file,
                 "servicekonto: file with the discovery cookie secret (default: random per start)")
      ->check(CLI::ExistingFile);
  app.add_option("--servicekonto", servicekonto_url, "portal: base URL of its Servicekonto (the proxy)");
  app.add_option("--min-trust-level", min_trust_level, "portal: minimum STORK-QAA level (1-4)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4));
  app.add_flag("--print-metadata", print_metadata, "Print the party's metadata (EntityDescriptor) and exit");
  app.add_flag("--exit-with-parent", exit_with_parent,
               "Shut down (as on SIGTERM) when the parent process dies (for launch scripts)");

  std::optional<UrlParts> url;
  std::chrono::seconds retry{};
  try {
    app.parse(argc, argv);
    while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
    url = split_base_url(base_url);
    if (!url) throw CLI::ValidationError("--base-url", "expected scheme://host[:port] without a path");
    if (enc_key.empty() != enc_cert.empty())
      throw CLI::ValidationError("--saml-enc-key/--saml-enc-cert", "give both or neither");
    if (!print_metadata) {
      if (insecure_http) {
        if (url->scheme != "http")
          throw CLI::ValidationError("--base-url", "--insecure-http needs an http:// URL");
        if (!tls_cert.empty() || !tls_key.empty())
          throw CLI::ValidationError("--insecure-http", "not together with --tls-cert/--tls-key");
      } else {
        if (url->scheme != "https")
          throw CLI::ValidationError("--base-url", "https:// (or --insecure-http for development)");
        if (tls_cert.empty() || tls_key.empty())
          throw CLI::ValidationError("--tls-cert/--tls-key", "required for HTTPS (or --insecure-http)");
      }
      if (federation_url.empty() || federation_cert.empty())
        throw CLI::ValidationError("--federation-url/--federation-cert", "required");
      if (role == "portal" && servicekonto_url.empty())
        throw CLI::ValidationError("--servicekonto", "the portal needs its Servicekonto's base URL");
    }
    const auto r = ik::parse_duration(retry_text);
    if (!r || *r < std::chrono::seconds(1))
      throw CLI::ValidationError("--retry", "a duration of at least PT1S");
    retry = std::chrono::duration_cast<std::chrono::seconds>(*r);
  } catch (const CLI::ParseError &e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  g_role = role;
  if (listen.empty()) listen = url->host;
  if (port < 0) port = url->port;
  if (display_name.empty()) display_name = std::string(default_display_name(role, false));
  if (display_name_en.empty()) display_name_en = std::string(default_display_name(role, true));

  std::optional<ik::Credential> saml;
  std::optional<ik::Credential> encryption;
  try {
    saml = ik::load_credential(saml_key, saml_cert);
    if (!enc_key.empty()) encryption = ik::load_credential(enc_key, enc_cert);
  } catch (const ik::Error &e) {
    std::cerr << "clara[" << role << "]: " << ik::to_string(e.code()) << ": " << e.detail() << '\n';
    return 2;
  }
  // Members not named here keep their defaults.
  clara::Common common{.base_url = base_url,
                       .display_name = display_name,
                       .display_name_en = display_name_en,
                       .saml = *saml,
                       .encryption = encryption,
                       .development_insecure_http = insecure_http};

  if (print_metadata) {
    try {
      if (role == "nrw" || role == "hamburg") {
        std::cout << clara::AccountIdp::metadata_xml(common);
      } else if (role == "servicekonto") {
        std::cout << clara::Servicekonto::metadata_xml(common);
      } else {
        std::cout << clara::Portal::metadata_xml(common);
      }
      std::cout.flush();
      return std::cout ? 0 : 1;
    } catch (const ik::Error &e) {
      std::cerr << "clara[" << role << "]: " << ik::to_string(e.code()) << ": " << e.detail() << '\n';
      return 1;
    }
  }

  // Signals are handled by the main thread only (sigtimedwait): block them
  // before any other thread exists. Default dispositions first, so that a
  // launcher that started us with SIGINT ignored (a background job of a
  // non-interactive shell) still gets us to stop on Ctrl-C.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (exit_with_parent) prctl(PR_SET_PDEATHSIG, SIGTERM);

  const ik::LogSink log = [](ik::LogLevel level, std::string_view msg) {
    log_line(fmt::format("[{}] {}", level_name(level), msg));
  };
  common.clock = std::make_shared<ik::SystemClock>();
  common.log = log;

  std::shared_ptr<ik::MetadataProvider> provider;
  Handler handler;
  try {
    ik::ProviderConfig pc;
    pc.trust.pinned_keys.push_back(ik::Certificate::from_pem_file(federation_cert).public_key());
    pc.backing_file = backing_file;
    pc.retry_after_failure = retry;
    std::unique_ptr<ik::MetadataSource> source;
    if (federation_url.rfind("https://", 0) == 0 || federation_url.rfind("http://", 0) == 0) {
      ik::HttpOptions http;
      http.ca_file = ca_file;
      http.connect_timeout = std::chrono::seconds(3);
      http.total_timeout = std::chrono::seconds(20);
      source = std::make_unique<ik::HttpSource>(federation_url, http);
    } else {
      source = std::make_unique<ik::FileSource>(federation_url);
    }
    provider = std::make_shared<ik::MetadataProvider>(std::move(source), pc, common.clock, log);
    if (provider->initialize()) {
      const auto h = provider->health();
      log_line(fmt::format("federation metadata: {} entities{}", h.entities,
                           h.from_backing_file ? " (from the backing file)" : ""));
    } else {
      log_line(
          fmt::format("federation metadata unavailable ({}); serving the \"federation unavailable\" page "
                      "and retrying every {}s",
                      provider->health().last_error, retry.count()));
    }
    common.federation = provider;

    if (role == "nrw" || role == "hamburg") {
      auto idp = std::make_shared<clara::AccountIdp>(common, role == "nrw" ? clara::nrw_users()
                                                                           : clara::hamburg_users());
      handler = [idp](const ik::HttpRequest &r) { return idp->handle(r); };
    } else if (role == "servicekonto") {
      std::vector<std::string> portal_ids;
      for (auto p : portals) {
        while (!p.empty() && p.back() == '/') p.pop_back();
        portal_ids.push_back(clara::sp_entity_id(p));
      }
      const std::string secret =
          discovery_secret_file.empty() ? random_secret() : trim_copy(read_text_file(discovery_secret_file));
      auto sk = std::make_shared<clara::Servicekonto>(common, std::move(portal_ids), secret);
      handler = [sk](const ik::HttpRequest &r) { return sk->handle(r); };
    } else {
      while (!servicekonto_url.empty() && servicekonto_url.back() == '/') servicekonto_url.pop_back();
      auto portal =
          std::make_shared<clara::Portal>(common, clara::idp_entity_id(servicekonto_url), min_trust_level);
      handler = [portal](const ik::HttpRequest &r) { return portal->handle(r); };
    }
    provider->start_background();
  } catch (const ik::Error &e) {
    std::cerr << "clara[" << role << "]: " << ik::to_string(e.code()) << ": " << e.detail() << '\n';
    return 2;
  } catch (const std::exception &e) {
    std::cerr << "clara[" << role << "]: " << e.what() << '\n';
    return 2;
  }

  std::unique_ptr<httplib::Server> server;
  if (insecure_http) {
    server = std::make_unique<httplib::Server>();
  } else {
    server = std::make_unique<httplib::SSLServer>(tls_cert.c_str(), tls_key.c_str());
  }
  if (!server->is_valid()) {
    std::cerr << "clara[" << role << "]: cannot set up the server (TLS certificate or key unusable)\n";
    return 2;
  }
  server->set_payload_max_length(kMaxBody)
      .set_read_timeout(10, 0)
      .set_write_timeout(10, 0)
      .set_keep_alive_max_count(100)
      .set_keep_alive_timeout(5)
      .set_tcp_nodelay(true); // headers and body go out as separate writes
  const auto route = [&handler](const httplib::Request &req, httplib::Response &res) {
    from_interkonto(handler(to_interkonto(req)), res);
  };
  // Requests with a body go through content-reader handlers: Debian's
  // libcpp-httplib (0.11) refuses application/x-www-form-urlencoded bodies
  // over 8 KiB with 413 when it reads them itself (a compiled-in
  // CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH), and a SAMLResponse with
  // an encrypted assertion is larger than that.
  const auto route_with_body = [&handler](const httplib::Request &req, httplib::Response &res,
                                          const httplib::ContentReader &reader) {
    if (req.is_multipart_form_data()) {
      res.status = 415;
      res.set_content("multipart/form-data is not accepted here\n", "text/plain; charset=utf-8");
      return;
    }
    std::string body;
    const bool ok = reader([&body](const char *data, std::size_t len) {
      if (body.size() + len > kMaxBody) return false;
      body.append(data, len);
      return true;
    });
    if (!ok) {
      res.status = 413;
      res.set_content("request body too large\n", "text/plain; charset=utf-8");
      return;
    }
    ik::HttpRequest in = to_interkonto(req);
    in.body = std::move(body);
    from_interkonto(handler(in), res);
  };
  server->Get(".*", route)
      .Post(".*", route_with_body)
      .Put(".*", route_with_body)
      .Delete(".*", route_with_body)
      .Patch(".*", route_with_body);
  server->set_exception_handler([](const httplib::Request &req, httplib::Response &res,
                                   std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const ik::Error &e) {
      what = fmt::format("{}: {}", ik::to_string(e.code()), e.detail());
    } catch (const std::exception &e) {
      what = e.what();
    } catch (...) {
    }
    log_line(fmt::format("{} {}: {}", req.method, req.path, what));
    res.status = 500;
    res.set_content("<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\"><title>Interner "
                    "Fehler</title></head>\n<body><main><h1>Interner Fehler</h1><p>Bitte versuchen Sie es "
                    "später erneut.</p></main></body></html>\n",
                    "text/html; charset=utf-8");
  });
  server->set_logger([](const httplib::Request &req, const httplib::Response &res) {
    log_line(fmt::format("{} {} {}", req.method, req.path, res.status));
  });

  if (!server->bind_to_port(listen, port)) {
    std::cerr << fmt::format("clara[{}]: cannot listen on {} port {}\n", role, listen, port);
    return 1;
  }
  std::thread worker([&server] { server->listen_after_bind(); });
  // Bound already: connections queue in the backlog until the worker accepts.
  const std::string host = listen.find(':') != std::string::npos ? "[" + listen + "]" : listen;
  std::cout << fmt::format("listening on {}://{}:{}/", insecure_http ? "http" : "https", host, port)
            << std::endl;
  log_line(fmt::format("{} ready at {}", display_name, base_url));

  int rc = 0;
  for (;;) {
    const timespec tick{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      log_line(fmt::format("signal {}: shutting down", sig));
      break;
    }
    if (sig == -1 && errno != EAGAIN && errno != EINTR) {
      log_line("sigtimedwait failed");
      rc = 1;
      break;
    }
  }
  server->stop();
  worker.join();
  provider->stop_background();
  return rc;
}

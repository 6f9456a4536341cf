// SPDX-License-Identifier: EUPL-1.2
// Test server for the browser tests of the IdP discovery page
// (tests/e2e/discovery.test.mjs): serves interkonto::Discovery over HTTP on
// 127.0.0.1 for a fixed federation of five IdPs and one SP, and a stand-in
// SP login endpoint (/saml/login) that echoes the chosen IdP so the browser
// test can assert the choice.
//
//   discovery_server [PORT]   (default 0: any free port)
//
// Prints "listening on http://127.0.0.1:PORT/" on stdout once it accepts
// connections; exits on SIGTERM or SIGINT, when its parent dies, and after at
// most 15 minutes in any case.

#include <httplib.h>

#include <sys/prctl.h>

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "interkonto/discovery.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/metadata.hpp"

#include "common/httplib_adapter.hpp"

namespace ik = interkonto;

namespace {

constexpr auto kMaxLifetime = std::chrono::minutes(15);

// 16x16 single-colour PNGs as data: URIs (mdui:Logo).
constexpr std::string_view kMetadata = R"XML(<?xml version="1.0" encoding="UTF-8"?>
<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui"
    xmlns:idpdisc="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol"
    Name="urn:example:e2e-federation">
  <md:EntityDescriptor entityID="https://servicekonto.thueringen.example/idp">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:Extensions>
        <mdui:UIInfo>
          <mdui:DisplayName xml:lang="de">Servicekonto Thüringen</mdui:DisplayName>
          <mdui:DisplayName xml:lang="en">Thuringia Service Account</mdui:DisplayName>
          <mdui:Logo height="16" width="16">data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFUlEQVR42mNgCJlMGhrVMKph+GoAADy/5wHCF2BqAAAAAElFTkSuQmCC</mdui:Logo>
        </mdui:UIInfo>
      </md:Extensions>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
          Location="https://servicekonto.thueringen.example/idp/sso"/>
    </md:IDPSSODescriptor>
  </md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://servicekonto.nrw.example/idp">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:Extensions>
        <mdui:UIInfo>
          <mdui:DisplayName xml:lang="de">Servicekonto.NRW</mdui:DisplayName>
          <mdui:DisplayName xml:lang="en">Servicekonto.NRW</mdui:DisplayName>
          <mdui:Logo height="16" width="16">data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFUlEQVR42mNgqLIlDY1qGNUwfDUAAA54twFrKlTvAAAAAElFTkSuQmCC</mdui:Logo>
        </mdui:UIInfo>
      </md:Extensions>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
          Location="https://servicekonto.nrw.example/idp/sso"/>
    </md:IDPSSODescriptor>
  </md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://bayernid.muenchen.example/idp">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:Extensions>
        <mdui:UIInfo>
          <mdui:DisplayName xml:lang="de">BayernID München</mdui:DisplayName>
          <mdui:DisplayName xml:lang="en">BayernID Munich</mdui:DisplayName>
          <mdui:Logo height="16" width="16">data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFUlEQVR42mNgiFpAGhrVMKph+GoAAEly+gFc35Q7AAAAAElFTkSuQmCC</mdui:Logo>
        </mdui:UIInfo>
      </md:Extensions>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
          Location="https://bayernid.muenchen.example/idp/sso"/>
    </md:IDPSSODescriptor>
  </md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://servicekonto.hamburg.example/idp">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
          Location="https://servicekonto.hamburg.example/idp/sso"/>
    </md:IDPSSODescriptor>
    <md:Organization>
      <md:OrganizationName xml:lang="de">Freie und Hansestadt Hamburg</md:OrganizationName>
      <md:OrganizationDisplayName xml:lang="de">Servicekonto Hamburg</md:OrganizationDisplayName>
      <md:OrganizationURL xml:lang="de">https://www.hamburg.example/</md:OrganizationURL>
    </md:Organization>
  </md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://id.bund.example/idp">
    <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:Extensions>
        <mdui:UIInfo>
          <mdui:DisplayName xml:lang="en">BundID federal account</mdui:DisplayName>
        </mdui:UIInfo>
      </md:Extensions>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
          Location="https://id.bund.example/idp/sso"/>
    </md:IDPSSODescriptor>
  </md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://portal.example/sp">
    <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:Extensions>
        <idpdisc:DiscoveryResponse Binding="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol"
            Location="https://portal.example/sp/ds-response" index="0"/>
        <mdui:UIInfo>
          <mdui:DisplayName xml:lang="de">Beispielportal (kein IdP)</mdui:DisplayName>
        </mdui:UIInfo>
      </md:Extensions>
      <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
          Location="https://portal.example/sp/acs" index="0"/>
    </md:SPSSODescriptor>
  </md:EntityDescriptor>
</md:EntitiesDescriptor>
)XML";

void log_line(std::string_view msg) {
  static std::mutex m;
  const std::lock_guard<std::mutex> lock(m);
  std::cerr << "discovery-server: " << msg << '\n';
}

std::string html_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

using ik::examples::from_interkonto;
using ik::examples::to_interkonto;

// The stand-in SP login endpoint: shows which IdP the page chose.
ik::HttpResponse login_page(const ik::HttpRequest &req) {
  const std::string idp = req.query_param("idp").value_or(req.form_param("idp").value_or(""));
  const std::string return_to = req.query_param("return_to").value_or("");
  ik::HttpResponse res;
  res.status = idp.empty() ? 400 : 200;
  res.set_header("Content-Type", "text/html; charset=utf-8");
  res.set_header("Cache-Control", "no-store");
  res.body = fmt::format(R"(<!DOCTYPE html>
<html lang="de">
<head><meta charset="utf-8"><title>Anmeldung (Testseite)</title></head>
<body><main>
<h1>Anmeldung (Testseite)</h1>
<p id="chosen">Gewählt: {}</p>
<p id="return-to">return_to: {}</p>
</main></body>
</html>
)",
                         html_escape(idp), html_escape(return_to));
  return res;
}

} // namespace

int main(int argc, char **argv) {
  int port = 0;
  if (argc > 2) {
    std::cerr << "usage: discovery_server [PORT]\n";
    return 2;
  }
  if (argc == 2) {
    char *end = nullptr;
    const long p = std::strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || p < 0 || p > 65535) {
      std::cerr << "discovery-server: bad port\n";
      return 2;
    }
    port = static_cast<int>(p);
  }

  // Signals are taken by the main thread only (sigtimedwait): block them
  // before any other thread exists. A dying parent sends SIGTERM too.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGTERM);

  std::unique_ptr<ik::Discovery> discovery;
  try {
    std::vector<ik::EntityPtr> entities = ik::parse_metadata(kMetadata);
    ik::DiscoveryConfig config;
    config.page_path = "/saml/discovery";
    config.login_path = "/saml/login";
    config.development_insecure_http = true;
    config.cookie_secret = "e2e-discovery-cookie-secret-0123456789abcdef";
    config.default_lang = "de";
    discovery = std::make_unique<ik::Discovery>(
        std::move(entities), std::move(config), nullptr, [](ik::LogLevel level, std::string_view msg) {
          log_line(fmt::format("[{}] {}", static_cast<int>(level), msg));
        });
  } catch (const ik::Error &e) {
    std::cerr << "discovery-server: " << ik::to_string(e.code()) << ": " << e.detail() << '\n';
    return 2;
  } catch (const std::exception &e) {
    std::cerr << "discovery-server: " << e.what() << '\n';
    return 2;
  }

  httplib::Server server;
  server.set_payload_max_length(64 * 1024)
      .set_read_timeout(5, 0)
      .set_write_timeout(10, 0)
      .set_keep_alive_max_count(100)
      .set_keep_alive_timeout(5);
  const ik::Discovery &disco = *discovery;
  // Route handlers, not a pre-routing handler: only they see the body.
  const auto handler = [&disco](const httplib::Request &req, httplib::Response &res) {
    const ik::HttpRequest in = to_interkonto(req);
    from_interkonto(in.path == "/saml/login" ? login_page(in) : disco.handle(in), res);
  };
  server.Get(".*", handler).Post(".*", handler).Put(".*", handler).Delete(".*", handler);
  server.set_exception_handler(
      [](const httplib::Request &req, httplib::Response &res, const std::exception_ptr &ep) {
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
        res.set_content("internal error\n", "text/plain; charset=utf-8");
      });
  server.set_logger([](const httplib::Request &req, const httplib::Response &res) {
    log_line(fmt::format("{} {} {}", req.method, req.target, res.status));
  });

  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    bound = -1;
  }
  if (bound <= 0) {
    std::cerr << fmt::format("discovery-server: cannot listen on 127.0.0.1 port {}\n", port);
    return 1;
  }
  std::thread worker([&server] { server.listen_after_bind(); });
  // Bound already: connections queue in the backlog until the worker accepts.
  std::cout << fmt::format("listening on http://127.0.0.1:{}/", bound) << std::endl;

  const auto deadline = std::chrono::steady_clock::now() + kMaxLifetime;
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
    if (std::chrono::steady_clock::now() >= deadline) {
      log_line("maximum lifetime reached: shutting down");
      rc = 1;
      break;
    }
  }
  server.stop();
  worker.join();
  return rc;
}

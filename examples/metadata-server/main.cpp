// SPDX-License-Identifier: EUPL-1.2
// interkonto-metadata-server: the demo's FINK metadata server. Signs one
// aggregate of the given metadata inputs at start (and again on SIGHUP or
// every --reload-interval) and serves it over HTTP(S) with ETag and
// Last-Modified, plus an MDQ endpoint answering with one signed
// EntityDescriptor per entity. With --signed FILE it serves a pre-signed
// aggregate (e.g. made by `interkonto metadata sign`) byte for byte instead,
// re-read on SIGHUP / --reload-interval; MDQ answers are then signed with
// --key/--cert when given, and MDQ is off without them. Uses only the public
// interkonto headers.

#include <httplib.h>

#include <openssl/evp.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <sys/prctl.h>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"

namespace ik = interkonto;

namespace {

constexpr std::string_view kContentType = "application/samlmetadata+xml";
constexpr std::size_t kMaxInputSize = 512 * 1024 * 1024;
constexpr std::size_t kChunk = 64 * 1024;

void log_line(const std::string &msg) {
  static std::mutex m;
  const std::lock_guard<std::mutex> lock(m);
  std::cerr << "metadata-server: " << msg << '\n';
}

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ik::Error(ik::ErrorCode::config_invalid, fmt::format("cannot read {}", path));
  std::string out;
  std::array<char, kChunk> buf{};
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    out.append(buf.data(), static_cast<std::size_t>(in.gcount()));
    if (out.size() > kMaxInputSize)
      throw ik::Error(ik::ErrorCode::too_large,
                      fmt::format("{} is larger than {} bytes", path, kMaxInputSize));
  }
  if (in.bad()) throw ik::Error(ik::ErrorCode::config_invalid, fmt::format("cannot read {}", path));
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw ik::Error(ik::ErrorCode::internal, "SHA-256 failed");
  std::string out;
  out.reserve(2 * len);
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

// RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 64> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf.data(), n);
}

std::optional<std::time_t> parse_http_date(const std::string &s) {
  std::tm tm{};
  const char *end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return timegm(&tm);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// If-None-Match: "*" or a list of entity tags; weak comparison (RFC 9110 13.1.2).
bool etag_matches(std::string_view header, std::string_view etag) {
  std::size_t pos = 0;
  while (pos <= header.size()) {
    std::size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view tag = trim(header.substr(pos, comma - pos));
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    pos = comma + 1;
  }
  return false;
}

// One signed document as served: body, strong ETag, Last-Modified.
struct Answer {
  std::string body;
  std::string etag;
};

struct Settings {
  std::vector<std::string> inputs;
  std::string signed_file; // serve this pre-signed aggregate as is
  std::optional<ik::Credential> credential;
  std::chrono::seconds valid_for{};
  std::chrono::seconds cache_duration{};
  std::string name;
};

// What is served between two (re)loads. Immutable except for the lazily
// filled cache of signed MDQ answers (bounded by the number of entities).
class Published {
public:
  Published(const Settings &s, ik::TimePoint now) {
    if (s.credential)
      sign_ = ik::MetadataSignOptions{s.credential->key,
                                      s.credential->certificate,
                                      std::string(signature_method(s.credential->key)),
                                      s.valid_for,
                                      s.cache_duration,
                                      s.name,
                                      now};
    if (!s.signed_file.empty()) {
      documents_.push_back(read_file(s.signed_file));
    } else {
      for (const auto &path : s.inputs) documents_.push_back(read_file(path));
    }
    for (std::size_t i = 0; i < documents_.size(); ++i) {
      for (const auto &e : ik::parse_metadata(documents_[i])) {
        if (!by_id_.emplace(e->entity_id, i).second)
          throw ik::Error(ik::ErrorCode::config_invalid,
                          fmt::format("entityID {} appears more than once", e->entity_id));
        sha1_to_id_.emplace(ik::entity_id_sha1_hex(e->entity_id), e->entity_id);
      }
    }
    const std::string xml =
        s.signed_file.empty() ? ik::sign_aggregate(documents_, *sign_) : documents_.front();
    aggregate_ = std::make_shared<const Answer>(Answer{xml, '"' + sha256_hex(xml) + '"'});
    last_modified_ = http_date(std::chrono::system_clock::to_time_t(now));
    last_modified_time_ = std::chrono::system_clock::to_time_t(now);
  }

  std::shared_ptr<const Answer> aggregate() const { return aggregate_; }
  std::size_t entity_count() const { return by_id_.size(); }
  bool mdq_enabled() const { return sign_.has_value(); }
  const std::string &last_modified() const { return last_modified_; }
  std::time_t last_modified_time() const { return last_modified_time_; }

  // The entityID for an MDQ identifier (an entityID or "{sha1}<hex>").
  std::optional<std::string> resolve(const std::string &id) const {
    constexpr std::string_view prefix = "{sha1}";
    if (id.compare(0, prefix.size(), prefix) == 0) {
      std::string hex = id.substr(prefix.size());
      std::transform(hex.begin(), hex.end(), hex.begin(),
                     [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
      auto it = sha1_to_id_.find(hex);
      if (it == sha1_to_id_.end()) return std::nullopt;
      return it->second;
    }
    if (by_id_.count(id) == 0) return std::nullopt;
    return id;
  }

  // The signed EntityDescriptor of a known entity, signed on first use and
  // kept until the next reload (so its ETag is stable).
  std::shared_ptr<const Answer> entity(const std::string &entity_id) const {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      auto it = signed_.find(entity_id);
      if (it != signed_.end()) return it->second;
    }
    const std::string ed = ik::extract_entity_xml(documents_[by_id_.at(entity_id)], entity_id);
    const std::string xml = ik::sign_entity(ed, *sign_);
    auto answer = std::make_shared<const Answer>(Answer{xml, '"' + sha256_hex(xml) + '"'});
    const std::lock_guard<std::mutex> lock(mutex_);
    return signed_.emplace(entity_id, std::move(answer)).first->second;
  }

private:
  static std::string_view signature_method(const ik::PrivateKey &key) {
    return key.type() == ik::KeyType::ec ? ik::alg::ecdsa_sha256 : ik::alg::rsa_sha256;
  }

  std::optional<ik::MetadataSignOptions> sign_; // none: serving --signed without a key (no MDQ)
  std::vector<std::string> documents_;
  std::unordered_map<std::string, std::size_t> by_id_;      // entityID -> document
  std::unordered_map<std::string, std::string> sha1_to_id_; // sha1 hex -> entityID
  std::shared_ptr<const Answer> aggregate_;
  std::string last_modified_;
  std::time_t last_modified_time_ = 0;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::shared_ptr<const Answer>> signed_;
};

class State {
public:
  std::shared_ptr<const Published> get() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  void set(std::shared_ptr<const Published> p) {
    const std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(p);
  }

private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Published> current_;
};

// A new Published; with --signed, `current` is kept when the file is unchanged
// (so Last-Modified stays put across reloads).
std::shared_ptr<const Published> build(const Settings &s,
                                       const std::shared_ptr<const Published> &current = nullptr) {
  const ik::SystemClock clock;
  auto p = std::make_shared<const Published>(s, clock.now());
  if (!s.signed_file.empty() && current && current->aggregate()->etag == p->aggregate()->etag) return current;
  log_line(fmt::format("{}: {} entities, {} bytes, ETag {}",
                       s.signed_file.empty() ? std::string("signed aggregate")
                                             : fmt::format("pre-signed aggregate {}", s.signed_file),
                       p->entity_count(), p->aggregate()->body.size(), p->aggregate()->etag));
  return p;
}

// Serves `answer` with validators; 304 when the client's copy is current.
void serve(const httplib::Request &req, httplib::Response &res, const Published &pub,
           std::shared_ptr<const Answer> answer, std::chrono::seconds max_age) {
  res.set_header("ETag", answer->etag);
  res.set_header("Last-Modified", pub.last_modified());
  res.set_header("Cache-Control", fmt::format("max-age={}", max_age.count()));
  bool not_modified = false;
  if (req.has_header("If-None-Match")) {
    not_modified = etag_matches(req.get_header_value("If-None-Match"), answer->etag);
  } else if (req.has_header("If-Modified-Since")) {
    const auto since = parse_http_date(req.get_header_value("If-Modified-Since"));
    not_modified = since && pub.last_modified_time() <= *since;
  }
  if (not_modified) {
    res.status = 304;
    return;
  }
  res.status = 200;
  const std::size_t size = answer->body.size();
  res.set_content_provider(size, std::string(kContentType),
                           [answer](std::size_t offset, std::size_t length, httplib::DataSink &sink) {
                             return sink.write(answer->body.data() + offset, std::min(length, kChunk));
                           });
}

void not_found(httplib::Response &res, std::string_view what) {
  res.status = 404;
  res.set_content(fmt::format("{}\n", what), "text/plain; charset=utf-8");
}

httplib::Server::HandlerResponse route(const State &state, std::chrono::seconds max_age,
                                       const httplib::Request &req, httplib::Response &res) {
  if (req.method != "GET" && req.method != "HEAD") {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    return httplib::Server::HandlerResponse::Handled;
  }
  const auto pub = state.get();
  // httplib hands us the percent-decoded path.
  const std::string &path = req.path;
  constexpr std::string_view entities = "/entities/";
  if (path == "/" || path == "/aggregate.xml" || path == "/entities" || path == entities) {
    serve(req, res, *pub, pub->aggregate(), max_age);
  } else if (path.compare(0, entities.size(), entities) == 0) {
    if (!pub->mdq_enabled()) {
      not_found(res, "MDQ is off (serving a pre-signed aggregate without --key/--cert)");
      return httplib::Server::HandlerResponse::Handled;
    }
    const auto id = pub->resolve(path.substr(entities.size()));
    if (!id) {
      not_found(res, "unknown entity");
    } else {
      serve(req, res, *pub, pub->entity(*id), max_age);
    }
  } else {
    not_found(res, "not found");
  }
  return httplib::Server::HandlerResponse::Handled;
}

std::chrono::seconds duration_option(const std::string &text, const char *what) {
  const auto d = ik::parse_duration(text);
  if (!d || *d <= std::chrono::milliseconds::zero())
    throw CLI::ValidationError(what, fmt::format("not a positive ISO 8601 duration: {}", text));
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"interkonto-metadata-server: serves a signed SAML metadata aggregate and MDQ"};
  std::string listen = "127.0.0.1";
  int port = -1;
  std::string tls_cert, tls_key, key_path, cert_path, name, signed_file;
  std::string valid_for_text = "P7D", cache_duration_text = "PT1H", reload_text;
  std::vector<std::string> inputs;
  app.add_option("--listen", listen, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "Port (0: any free port)")->required()->check(CLI::Range(0, 65535));
  app.add_option("--tls-cert", tls_cert, "Serve HTTPS with this certificate (PEM)")->check(CLI::ExistingFile);
  app.add_option("--tls-key", tls_key, "Private key for --tls-cert (PEM)")->check(CLI::ExistingFile);
  app.add_option("--key", key_path, "Metadata signing key (PEM); optional with --signed (then: MDQ)")
      ->check(CLI::ExistingFile);
  app.add_option("--cert", cert_path, "Certificate of the signing key (PEM)")->check(CLI::ExistingFile);
  app.add_option("--signed", signed_file,
                 "Serve this pre-signed aggregate as is (instead of signing the inputs)")
      ->check(CLI::ExistingFile);
  app.add_option("--valid-for", valid_for_text, "validUntil = signing time + this")->capture_default_str();
  app.add_option("--cache-duration", cache_duration_text, "cacheDuration and Cache-Control max-age")
      ->capture_default_str();
  app.add_option("--reload-interval", reload_text,
                 "Re-read and re-sign this often (default: half of --valid-for); SIGHUP does it at once");
  app.add_option("--name", name, "Name of the EntitiesDescriptor");
  bool exit_with_parent = false;
  app.add_flag("--exit-with-parent", exit_with_parent,
               "Shut down (as on SIGTERM) when the parent process dies (for launch scripts)");
  app.add_option("inputs", inputs, "EntityDescriptor / EntitiesDescriptor files (not with --signed)")
      ->check(CLI::ExistingFile);

  Settings settings;
  std::chrono::seconds reload_interval{};
  try {
    app.parse(argc, argv);
    if (tls_cert.empty() != tls_key.empty())
      throw CLI::ValidationError("--tls-cert/--tls-key", "give both or neither");
    if (key_path.empty() != cert_path.empty())
      throw CLI::ValidationError("--key/--cert", "give both or neither");
    if (signed_file.empty()) {
      if (key_path.empty()) throw CLI::ValidationError("--key/--cert", "required (or --signed FILE)");
      if (inputs.empty())
        throw CLI::ValidationError("inputs", "at least one metadata file (or --signed FILE)");
    } else if (!inputs.empty()) {
      throw CLI::ValidationError("inputs", "--signed serves one pre-signed file; give no inputs");
    }
    settings.valid_for = duration_option(valid_for_text, "--valid-for");
    settings.cache_duration = duration_option(cache_duration_text, "--cache-duration");
    reload_interval = reload_text.empty() ? std::max(settings.valid_for / 2, std::chrono::seconds(1))
                                          : duration_option(reload_text, "--reload-interval");
  } catch (const CLI::ParseError &e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  settings.inputs = inputs;
  settings.signed_file = signed_file;
  settings.name = name;

  // Signals are handled by the main thread only (sigtimedwait): block them
  // before any other thread exists.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  if (exit_with_parent) prctl(PR_SET_PDEATHSIG, SIGTERM);

  State state;
  try {
    if (!key_path.empty()) settings.credential = ik::load_credential(key_path, cert_path);
    state.set(build(settings));
  } catch (const ik::Error &e) {
    std::cerr << "metadata-server: " << ik::to_string(e.code()) << ": " << e.detail() << '\n';
    return 2;
  } catch (const std::exception &e) {
    std::cerr << "metadata-server: " << e.what() << '\n';
    return 2;
  }

  std::unique_ptr<httplib::Server> server;
  if (!tls_cert.empty()) {
    server = std::make_unique<httplib::SSLServer>(tls_cert.c_str(), tls_key.c_str());
  } else {
    server = std::make_unique<httplib::Server>();
  }
  if (!server->is_valid()) {
    std::cerr << "metadata-server: cannot set up the server (TLS certificate or key unusable)\n";
    return 2;
  }
  const std::chrono::seconds max_age = settings.cache_duration;
  server->set_payload_max_length(64 * 1024)
      .set_read_timeout(5, 0)
      .set_write_timeout(30, 0)
      .set_keep_alive_max_count(100)
      .set_keep_alive_timeout(5);
  server->set_pre_routing_handler([&state, max_age](const httplib::Request &req, httplib::Response &res) {
    return route(state, max_age, req, res);
  });
  server->set_exception_handler(
      [](const httplib::Request &req, httplib::Response &res, std::exception_ptr ep) {
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
  server->set_logger([](const httplib::Request &req, const httplib::Response &res) {
    log_line(fmt::format("{} {} {}", req.method, req.path, res.status));
  });

  int bound = port;
  if (port == 0) {
    bound = server->bind_to_any_port(listen);
  } else if (!server->bind_to_port(listen, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    std::cerr << fmt::format("metadata-server: cannot listen on {} port {}\n", listen, port);
    return 1;
  }
  const std::string host = listen.find(':') != std::string::npos ? "[" + listen + "]" : listen;
  std::cout << fmt::format("listening on {}://{}:{}/", tls_cert.empty() ? "http" : "https", host, bound)
            << std::endl;

  std::thread worker([&server] { server->listen_after_bind(); });

  auto next_reload = std::chrono::steady_clock::now() + reload_interval;
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
    if (sig == SIGHUP || std::chrono::steady_clock::now() >= next_reload) {
      next_reload = std::chrono::steady_clock::now() + reload_interval;
      try {
        state.set(build(settings, state.get()));
      } catch (const ik::Error &e) {
        log_line(fmt::format("reload failed, still serving the previous aggregate: {}: {}",
                             ik::to_string(e.code()), e.detail()));
      } catch (const std::exception &e) {
        log_line(fmt::format("reload failed, still serving the previous aggregate: {}", e.what()));
      }
    }
  }
  server->stop();
  worker.join();
  return rc;
}

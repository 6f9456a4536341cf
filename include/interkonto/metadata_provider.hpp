// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Where metadata comes from and how it stays fresh: sources (file, HTTP(S)
// with conditional GET), a provider that keeps the last verified snapshot,
// writes a backing file, refreshes by cacheDuration and fails closed once the
// snapshot expires; and an MDQ client. The only network code here is the
// HTTP fetch (libcurl); the host drives refresh (refresh_if_due) or lets the
// provider run one background thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "interkonto/clock.hpp"
#include "interkonto/log.hpp"
#include "interkonto/metadata.hpp"

namespace interkonto {

struct FetchResult {
  bool not_modified = false; // 304: keep what you have
  std::string body;
  std::string etag;
  std::string last_modified;
};

// Throws Error(config_invalid) for I/O problems (unreachable, timeout, HTTP
// error status, size limit exceeded: too_large).
class MetadataSource {
public:
  virtual ~MetadataSource() = default;
  // Conditional fetch: pass what the last successful fetch returned.
  virtual FetchResult fetch(const std::string &etag, const std::string &last_modified) = 0;
  virtual std::string describe() const = 0; // for logs
};

class FileSource final : public MetadataSource {
public:
  explicit FileSource(std::string path, std::size_t max_size = 512 * 1024 * 1024);
  FetchResult fetch(const std::string &etag, const std::string &last_modified) override;
  std::string describe() const override { return path_; }

private:
  std::string path_;
  std::size_t max_size_;
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{60000};
  std::chrono::seconds low_speed_window{15}; // abort when under 1 KB/s for this long (stalls)
  std::size_t max_size = 512 * 1024 * 1024;
  std::string ca_file;    // extra trust anchor for TLS (PEM), e.g. a demo CA
  bool verify_tls = true; // never false in production
  std::string user_agent = "interkonto/0.1";
};

// HTTP(S) via libcurl: TLS verified, timeouts, size limit, conditional GET
// (If-None-Match / If-Modified-Since), redirects not followed.
class HttpSource final : public MetadataSource {
public:
  explicit HttpSource(std::string url, HttpOptions options = {});
  FetchResult fetch(const std::string &etag, const std::string &last_modified) override;
  std::string describe() const override { return url_; }

private:
  std::string url_;
  HttpOptions options_;
};

// A single HTTP GET with the same rules (used by HttpSource and MDQ).
// Returns status, body and validators; throws Error(config_invalid/too_large)
// for transport problems.
struct HttpResponseData {
  long status = 0;
  std::string body;
  std::string etag;
  std::string last_modified;
  std::string content_type;
};
HttpResponseData http_get(const std::string &url, const HttpOptions &options,
                          const std::vector<std::pair<std::string, std::string>> &headers = {});

struct ProviderConfig {
  AggregateTrust trust;
  EntityFilter filter;
  std::string backing_file; // last verified copy; empty: none
  std::chrono::seconds min_refresh{std::chrono::minutes(5)};
  std::chrono::seconds max_refresh{std::chrono::hours(24)};
  std::chrono::seconds default_refresh{std::chrono::hours(1)}; // without cacheDuration
  std::chrono::seconds retry_after_failure{std::chrono::minutes(1)};
  std::chrono::seconds expiry_warning{std::chrono::hours(24)};
};

struct MetadataHealth {
  bool usable = false; // a snapshot is loaded and still valid
  std::optional<TimePoint> last_success;
  std::optional<TimePoint> last_attempt;
  std::optional<TimePoint> next_refresh;
  std::optional<TimePoint> valid_until;
  std::optional<std::chrono::seconds> time_left; // until validUntil
  std::string last_error;                        // empty after a success
  std::size_t entities = 0;
  std::size_t skipped = 0;
  bool from_backing_file = false;
};

// Keeps the federation's snapshot. Readers call snapshot() at any time from
// any thread and never block on a refresh; a refresh builds a complete new
// snapshot and swaps it in atomically.
class MetadataProvider {
public:
  MetadataProvider(std::unique_ptr<MetadataSource> source, ProviderConfig config,
                   std::shared_ptr<const Clock> clock = nullptr, LogSink log = nullptr);
  ~MetadataProvider(); // stops the background thread
  MetadataProvider(const MetadataProvider &) = delete;
  MetadataProvider &operator=(const MetadataProvider &) = delete;

  // First load: from the source; when that fails, from the backing file if it
  // is still valid. Returns true when a usable snapshot is loaded; false
  // leaves the provider empty (health() says why) and refresh_if_due retries.
  bool initialize();
  // Refreshes when the next refresh time has come. Returns true if it tried.
  bool refresh_if_due();
  // Refreshes now (success: true). Failures keep the last good snapshot.
  bool refresh_now();

  // The current snapshot, or nullptr when none is usable: an expired
  // snapshot is no longer trusted (fail closed).
  SnapshotPtr snapshot() const;
  EntityPtr find(std::string_view entity_id) const;
  MetadataHealth health() const;

  // Optional: one thread that calls refresh_if_due (hosts with their own
  // timer do not need it). stop() joins it.
  void start_background(std::chrono::milliseconds poll = std::chrono::seconds(1));
  void stop_background();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// MDQ client (SAML metadata query protocol): GET {base}/entities/{id}, where
// id is the URL-encoded entityID or "{sha1}" + hex. Each answer must be a
// signed EntityDescriptor that verifies with the pinned keys. Answers are
// cached by cacheDuration/validUntil (bounded by min/max), "not found" is
// cached too (negative_ttl).
struct MdqConfig {
  std::string base_url; // e.g. https://mds.example/ (".../entities/" appended)
  AggregateTrust trust;
  HttpOptions http;
  bool use_sha1 = false; // query by {sha1} instead of the entityID
  std::chrono::seconds min_cache{std::chrono::minutes(1)};
  std::chrono::seconds max_cache{std::chrono::hours(24)};
  std::chrono::seconds negative_ttl{std::chrono::minutes(5)};
  std::size_t max_entries = 100'000;
};

class MdqClient {
public:
  MdqClient(MdqConfig config, std::shared_ptr<const Clock> clock = nullptr, LogSink log = nullptr);
  ~MdqClient();
  // The entity, or nullptr when the server does not know it (404). Throws
  // Error for a response that fails verification or a transport error (not
  // cached, so the next call retries).
  EntityPtr lookup(std::string_view entity_id);
  std::size_t cache_size() const;
  std::size_t fetches() const; // HTTP requests made (for tests and health)

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace interkonto

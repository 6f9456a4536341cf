// SPDX-License-Identifier: EUPL-1.2
// Metadata sources (file, HTTP(S) via libcurl) and the provider that keeps
// the last verified snapshot fresh: conditional refresh driven by
// cacheDuration, an atomically written backing file, fail closed on expiry.

#include "interkonto/metadata_provider.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "interkonto/error.hpp"

namespace interkonto {

namespace {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// ---- POSIX file helpers ----

class Fd {
public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  int get() const noexcept { return fd_; }
  // Closes now and reports the error close() returned (0 when fine).
  int close_now() noexcept {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

private:
  int fd_;
};

void write_all(int fd, std::string_view data, const std::string &what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::config_invalid, what + ": write: " + errno_text(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Writes `data` to `path` atomically: a temporary file next to it, fsync,
// rename over the target, fsync of the directory.
void write_file_atomically(const std::string &path, std::string_view data) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  try {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) throw Error(ErrorCode::config_invalid, tmp + ": " + errno_text(errno));
    write_all(fd.get(), data, tmp);
    if (::fsync(fd.get()) != 0) throw Error(ErrorCode::config_invalid, tmp + ": fsync: " + errno_text(errno));
    if (const int err = fd.close_now(); err != 0)
      throw Error(ErrorCode::config_invalid, tmp + ": close: " + errno_text(err));
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(ErrorCode::config_invalid, path + ": rename: " + errno_text(errno));
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0)
    throw Error(ErrorCode::config_invalid, dir + ": fsync of the directory: " + errno_text(errno));
}

// ---- libcurl ----

struct CurlEasyDeleter {
  void operator()(CURL *c) const noexcept { curl_easy_cleanup(c); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist *l) const noexcept { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

std::once_flag curl_once;

void ensure_curl() {
  std::call_once(curl_once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Error(ErrorCode::internal, "curl_global_init failed");
  });
}

struct Transfer {
  std::string body;
  std::size_t max_size = 0;
  bool too_large = false;
  std::string etag;
  std::string last_modified;
  std::string content_type;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lx = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
           const auto ly = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
           return lx == ly;
         });
}

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::size_t on_body(char *data, std::size_t size, std::size_t nmemb, void *user) {
  auto *t = static_cast<Transfer *>(user);
  const std::size_t n = size * nmemb;
  if (n > t->max_size - std::min(t->max_size, t->body.size())) {
    t->too_large = true;
    return 0; // aborts the transfer (CURLE_WRITE_ERROR)
  }
  t->body.append(data, n);
  return n;
}

std::size_t on_header(char *data, std::size_t size, std::size_t nitems, void *user) {
  auto *t = static_cast<Transfer *>(user);
  const std::size_t n = size * nitems;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) { // a new response (e.g. after 100 Continue)
    t->etag.clear();
    t->last_modified.clear();
    t->content_type.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string_view name = trim_ws(line.substr(0, colon));
  const std::string_view value = trim_ws(line.substr(colon + 1));
  if (iequals(name, "ETag"))
    t->etag = value;
  else if (iequals(name, "Last-Modified"))
    t->last_modified = value;
  else if (iequals(name, "Content-Type"))
    t->content_type = value;
  return n;
}

long to_long(std::int64_t v) {
  return static_cast<long>(std::clamp<std::int64_t>(v, 0, std::numeric_limits<long>::max()));
}

template <class T> void setopt(CURL *c, CURLoption opt, T value, const std::string &url) {
  if (curl_easy_setopt(c, opt, value) != CURLE_OK)
    throw Error(ErrorCode::config_invalid,
                fmt::format("{}: libcurl refused option {}", url, static_cast<int>(opt)));
}

// ---- provider helpers ----

std::string error_text(const Error &e) {
  return fmt::format("{}: {}", to_string(e.code()), e.detail());
}

std::chrono::seconds floor_seconds(std::chrono::milliseconds d) {
  return std::chrono::floor<std::chrono::seconds>(d);
}

} // namespace

// ---------------------------------------------------------------------------
// http_get

HttpResponseData http_get(const std::string &url, const HttpOptions &options,
                          const std::vector<std::pair<std::string, std::string>> &headers) {
  ensure_curl();
  CurlPtr curl(curl_easy_init());
  if (!curl) throw Error(ErrorCode::internal, "curl_easy_init failed");
  CURL *c = curl.get();

  Transfer t;
  t.max_size = options.max_size;
  char errbuf[CURL_ERROR_SIZE] = {};

  SlistPtr list;
  for (const auto &[name, value] : headers) {
    const std::string h = name + ": " + value;
    curl_slist *next = curl_slist_append(list.get(), h.c_str());
    if (next == nullptr) throw Error(ErrorCode::internal, "curl_slist_append failed");
    (void)list.release();
    list.reset(next);
  }

  setopt(c, CURLOPT_URL, url.c_str(), url);
  setopt(c, CURLOPT_PROTOCOLS_STR, "http,https", url);
  setopt(c, CURLOPT_FOLLOWLOCATION, 0L, url);
  setopt(c, CURLOPT_NOSIGNAL, 1L, url);
  setopt(c, CURLOPT_ERRORBUFFER, errbuf, url);
  setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to_long(options.connect_timeout.count()), url);
  setopt(c, CURLOPT_TIMEOUT_MS, to_long(options.total_timeout.count()), url);
  setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L, url);
  setopt(c, CURLOPT_LOW_SPEED_TIME, to_long(options.low_speed_window.count()), url);
  setopt(
      c, CURLOPT_MAXFILESIZE_LARGE,
      static_cast<curl_off_t>(std::min<std::size_t>(options.max_size, static_cast<std::size_t>(INT64_MAX))),
      url);
  setopt(c, CURLOPT_ACCEPT_ENCODING, "", url); // any encoding curl decodes; the limit counts decoded bytes
  setopt(c, CURLOPT_SSL_VERIFYPEER, options.verify_tls ? 1L : 0L, url);
  setopt(c, CURLOPT_SSL_VERIFYHOST, options.verify_tls ? 2L : 0L, url);
  if (!options.ca_file.empty()) setopt(c, CURLOPT_CAINFO, options.ca_file.c_str(), url);
  if (!options.user_agent.empty()) setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str(), url);
  if (list) setopt(c, CURLOPT_HTTPHEADER, list.get(), url);
  setopt(c, CURLOPT_WRITEFUNCTION, &on_body, url);
  setopt(c, CURLOPT_WRITEDATA, static_cast<void *>(&t), url);
  setopt(c, CURLOPT_HEADERFUNCTION, &on_header, url);
  setopt(c, CURLOPT_HEADERDATA, static_cast<void *>(&t), url);

  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
      throw Error(ErrorCode::too_large, fmt::format("{}: larger than {} bytes", url, options.max_size));
    const std::string text = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    if (rc == CURLE_OPERATION_TIMEDOUT)
      throw Error(ErrorCode::config_invalid, fmt::format("{}: timeout: {}", url, text));
    throw Error(ErrorCode::config_invalid, fmt::format("{}: {}", url, text));
  }

  HttpResponseData out;
  if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status) != CURLE_OK)
    throw Error(ErrorCode::internal, url + ": no response code");
  out.body = std::move(t.body);
  out.etag = std::move(t.etag);
  out.last_modified = std::move(t.last_modified);
  out.content_type = std::move(t.content_type);
  return out;
}

// ---------------------------------------------------------------------------
// Sources

FileSource::FileSource(std::string path, std::size_t max_size)
    : path_(std::move(path)), max_size_(max_size) {}

FetchResult FileSource::fetch(const std::string &etag, const std::string & /*last_modified*/) {
  Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw Error(ErrorCode::config_invalid, path_ + ": " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(ErrorCode::config_invalid, path_ + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::config_invalid, path_ + ": not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_size_)
    throw Error(ErrorCode::too_large, fmt::format("{}: {} bytes, more than {}", path_, size, max_size_));

  FetchResult r;
  r.etag = fmt::format("{}.{:09}:{}:{}", st.st_mtim.tv_sec, st.st_mtim.tv_nsec, size, st.st_ino);
  if (!etag.empty() && etag == r.etag) {
    r.not_modified = true;
    return r;
  }
  r.body.reserve(static_cast<std::size_t>(size));
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(ErrorCode::config_invalid, path_ + ": " + errno_text(errno));
    }
    if (n == 0) break;
    if (static_cast<std::size_t>(n) > max_size_ - r.body.size()) // the file grew while we read it
      throw Error(ErrorCode::too_large, fmt::format("{}: more than {} bytes", path_, max_size_));
    r.body.append(buf, static_cast<std::size_t>(n));
  }
  return r;
}

HttpSource::HttpSource(std::string url, HttpOptions options)
    : url_(std::move(url)), options_(std::move(options)) {}

FetchResult HttpSource::fetch(const std::string &etag, const std::string &last_modified) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!etag.empty()) headers.emplace_back("If-None-Match", etag);
  if (!last_modified.empty()) headers.emplace_back("If-Modified-Since", last_modified);
  HttpResponseData resp = http_get(url_, options_, headers);
  FetchResult r;
  if (resp.status == 304) {
    r.not_modified = true;
    r.etag = resp.etag.empty() ? etag : std::move(resp.etag);
    r.last_modified = resp.last_modified.empty() ? last_modified : std::move(resp.last_modified);
    return r;
  }
  if (resp.status != 200)
    throw Error(ErrorCode::config_invalid, fmt::format("{}: HTTP status {}", url_, resp.status));
  r.body = std::move(resp.body);
  r.etag = std::move(resp.etag);
  r.last_modified = std::move(resp.last_modified);
  return r;
}

// ---------------------------------------------------------------------------
// MetadataProvider

struct MetadataProvider::Impl {
  std::unique_ptr<MetadataSource> source;
  ProviderConfig config;
  std::shared_ptr<const Clock> clock;
  LogSink log;

  // The current snapshot. Readers copy the pointer under a mutex held only
  // for that copy (never while fetching, parsing or verifying), so they never
  // wait for a refresh. (Not std::atomic<std::shared_ptr>: libstdc++ 12's
  // load() unlocks with memory_order_relaxed, which ThreadSanitizer rightly
  // reports as a race against the next store.)
  mutable std::mutex current_mutex;
  SnapshotPtr current_snapshot;
  SnapshotPtr load_current() const {
    std::lock_guard<std::mutex> lock(current_mutex);
    return current_snapshot;
  }
  mutable std::atomic<bool> expiry_logged{false};

  // Serialises refreshes (never taken by readers).
  std::mutex refresh_mutex;

  // Health and validators; held only for short copies, never while fetching,
  // parsing or logging.
  mutable std::mutex state_mutex;
  std::optional<TimePoint> last_success;
  std::optional<TimePoint> last_attempt;
  std::optional<TimePoint> next_refresh;
  std::string last_error;
  bool from_backing_file = false;
  std::string etag;
  std::string last_modified;
  mutable bool expiry_warned = false; // reset at every refresh attempt

  // Background refresher.
  std::mutex bg_mutex;
  std::condition_variable bg_cv;
  bool bg_stop = false;
  std::thread bg_thread;

  void emit(LogLevel level, const std::string &message) const {
    if (log) log(level, message);
  }

  TimePoint now() const { return clock->now(); }

  // When the next refresh is due after a successful one at `now`.
  TimePoint schedule(TimePoint t, const MetadataSnapshot *s) const {
    std::chrono::seconds interval = config.default_refresh;
    if (s != nullptr && s->cache_duration()) interval = *s->cache_duration();
    interval = std::max(interval, config.min_refresh);
    interval = std::min(interval, std::max(config.max_refresh, config.min_refresh));
    TimePoint next = t + interval;
    if (s != nullptr && s->valid_until()) {
      // Leave room before validUntil: 10 % of the remaining time, at least an hour.
      const auto remaining = *s->valid_until() - t;
      const auto margin = std::max<std::chrono::milliseconds>(remaining / 10, std::chrono::hours(1));
      const TimePoint latest = std::max<TimePoint>(*s->valid_until() - margin, t + config.min_refresh);
      next = std::min(next, latest);
    }
    return next;
  }

  void maybe_warn_expiry(const MetadataSnapshot *s, TimePoint t) const {
    if (s == nullptr || !s->valid_until()) return;
    const auto left = *s->valid_until() - t;
    if (left >= config.expiry_warning) return;
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      if (expiry_warned) return;
      expiry_warned = true;
    }
    if (left <= std::chrono::milliseconds::zero())
      emit(LogLevel::error, fmt::format("metadata from {} expired at {}", source->describe(),
                                        format_datetime(*s->valid_until())));
    else
      emit(LogLevel::warning,
           fmt::format("metadata from {} is valid only until {} ({} s left)", source->describe(),
                       format_datetime(*s->valid_until()), floor_seconds(left).count()));
  }

  void swap_in(SnapshotPtr s) {
    SnapshotPtr old = std::move(s);
    {
      std::lock_guard<std::mutex> lock(current_mutex);
      current_snapshot.swap(old);
    }
    // `old` is released here, outside the lock.
    expiry_logged.store(false);
    if (old) {
      // Free the old snapshot here, in the refresh thread, not in whichever
      // login thread happens to drop the last reference: readers hold it for
      // microseconds, so wait (bounded) for them to let go.
      for (int i = 0; i < 2000 && old.use_count() > 1; ++i) std::this_thread::yield();
      old.reset();
#if defined(__GLIBC__)
      malloc_trim(0); // return the old snapshot's pages to the OS
#endif
    }
  }

  void write_backing(const std::string &body) {
    if (config.backing_file.empty()) return;
    try {
      write_file_atomically(config.backing_file, body);
    } catch (const Error &e) {
      emit(LogLevel::warning, "metadata backing file not written: " + e.detail());
    }
  }

  // Loads the backing file; throws Error when it is missing or unusable.
  SnapshotPtr load_backing(TimePoint t) {
    if (config.backing_file.empty()) throw Error(ErrorCode::config_invalid, "no backing file configured");
    FileSource file(config.backing_file, config.trust.max_size);
    const FetchResult r = file.fetch({}, {});
    return load_aggregate(r.body, config.trust, t, config.filter, log);
  }

  // One refresh attempt. With `use_backing`, a failure of the source falls
  // back to the backing file (first load).
  bool refresh(bool use_backing) {
    std::lock_guard<std::mutex> serial(refresh_mutex);
    const TimePoint t = now();
    std::string known_etag;
    std::string known_last_modified;
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      last_attempt = t;
      expiry_warned = false;
      known_etag = etag;
      known_last_modified = last_modified;
    }
    std::string failure;
    try {
      FetchResult r = source->fetch(known_etag, known_last_modified);
      SnapshotPtr fresh;
      if (r.not_modified) {
        const SnapshotPtr cur = load_current();
        if (!cur || !cur->valid_at(t)) {
          std::lock_guard<std::mutex> lock(state_mutex);
          etag.clear(); // fetch in full next time
          last_modified.clear();
          throw Error(ErrorCode::expired,
                      source->describe() + ": not modified, but the snapshot has expired");
        }
      } else {
        fresh = load_aggregate(r.body, config.trust, t, config.filter, log);
      }
      const SnapshotPtr s = fresh ? fresh : load_current();
      const TimePoint next = schedule(t, s.get());
      if (fresh) {
        swap_in(fresh);
        write_backing(r.body);
      }
      {
        std::lock_guard<std::mutex> lock(state_mutex);
        last_success = t;
        next_refresh = next;
        last_error.clear();
        if (fresh) from_backing_file = false;
        etag = std::move(r.etag);
        last_modified = std::move(r.last_modified);
      }
      if (fresh)
        emit(LogLevel::info,
             fmt::format("metadata loaded from {}: {} entities, {} skipped, validUntil {}, next refresh {}",
                         source->describe(), s->entities().size(), s->skipped().size(),
                         s->valid_until() ? format_datetime(*s->valid_until()) : std::string("none"),
                         format_datetime(next)));
      else
        emit(LogLevel::debug, fmt::format("metadata from {} not modified, next refresh {}",
                                          source->describe(), format_datetime(next)));
      maybe_warn_expiry(s.get(), t);
      return true;
    } catch (const Error &e) {
      failure = error_text(e);
    } catch (const std::exception &e) {
      failure = std::string("internal: ") + e.what();
    }

    // The source failed: keep the last good snapshot, or try the backing file.
    bool backed = false;
    if (use_backing && !load_current() && !config.backing_file.empty()) {
      try {
        SnapshotPtr s = load_backing(t);
        swap_in(s);
        backed = true;
        emit(LogLevel::warning,
             fmt::format(
                 "metadata source {} failed ({}); using the backing file {}: {} entities, validUntil {}",
                 source->describe(), failure, config.backing_file, s->entities().size(),
                 s->valid_until() ? format_datetime(*s->valid_until()) : std::string("none")));
      } catch (const Error &e) {
        failure += "; backing file: " + error_text(e);
      } catch (const std::exception &e) {
        failure += std::string("; backing file: internal: ") + e.what();
      }
    }
    {
      std::lock_guard<std::mutex> lock(state_mutex);
      last_error = failure;
      next_refresh = t + config.retry_after_failure;
      if (backed) from_backing_file = true;
    }
    const SnapshotPtr cur = load_current();
    if (!backed)
      emit(cur ? LogLevel::warning : LogLevel::error,
           fmt::format("metadata refresh from {} failed: {}{}", source->describe(), failure,
                       cur ? "; keeping the last good snapshot" : "; no usable metadata"));
    maybe_warn_expiry(cur.get(), t);
    return backed;
  }
};

MetadataProvider::MetadataProvider(std::unique_ptr<MetadataSource> source, ProviderConfig config,
                                   std::shared_ptr<const Clock> clock, LogSink log)
    : impl_(std::make_unique<Impl>()) {
  if (!source) throw Error(ErrorCode::config_invalid, "metadata provider without a source");
  impl_->source = std::move(source);
  impl_->config = std::move(config);
  impl_->clock = clock ? std::move(clock) : std::make_shared<SystemClock>();
  impl_->log = std::move(log);
}

MetadataProvider::~MetadataProvider() {
  stop_background();
}

bool MetadataProvider::initialize() {
  return impl_->refresh(true);
}

bool MetadataProvider::refresh_if_due() {
  const TimePoint t = impl_->now();
  {
    std::lock_guard<std::mutex> lock(impl_->state_mutex);
    if (impl_->next_refresh && t < *impl_->next_refresh) return false;
  }
  (void)impl_->refresh(!impl_->load_current());
  return true;
}

bool MetadataProvider::refresh_now() {
  const bool empty = !impl_->load_current();
  const bool ok = impl_->refresh(empty);
  // From the backing file only: usable, but the source itself failed.
  if (ok && empty) {
    std::lock_guard<std::mutex> lock(impl_->state_mutex);
    return impl_->last_error.empty();
  }
  return ok;
}

SnapshotPtr MetadataProvider::snapshot() const {
  SnapshotPtr s = impl_->load_current();
  if (!s) return nullptr;
  const TimePoint t = impl_->now();
  if (s->valid_at(t)) return s;
  if (!impl_->expiry_logged.exchange(true))
    impl_->emit(LogLevel::error, fmt::format("metadata from {} expired at {}; refusing to use it",
                                             impl_->source->describe(), format_datetime(*s->valid_until())));
  return nullptr;
}

EntityPtr MetadataProvider::find(std::string_view entity_id) const {
  const SnapshotPtr s = snapshot();
  return s ? s->find(entity_id) : nullptr;
}

MetadataHealth MetadataProvider::health() const {
  const TimePoint t = impl_->now();
  const SnapshotPtr s = impl_->load_current();
  MetadataHealth h;
  {
    std::lock_guard<std::mutex> lock(impl_->state_mutex);
    h.last_success = impl_->last_success;
    h.last_attempt = impl_->last_attempt;
    h.next_refresh = impl_->next_refresh;
    h.last_error = impl_->last_error;
    h.from_backing_file = impl_->from_backing_file;
  }
  if (s) {
    h.usable = s->valid_at(t);
    h.valid_until = s->valid_until();
    if (h.valid_until)
      h.time_left = std::max(floor_seconds(*h.valid_until - t), std::chrono::seconds::zero());
    h.entities = s->entities().size();
    h.skipped = s->skipped().size();
    impl_->maybe_warn_expiry(s.get(), t);
  }
  return h;
}

void MetadataProvider::start_background(std::chrono::milliseconds poll) {
  std::lock_guard<std::mutex> lock(impl_->bg_mutex);
  if (impl_->bg_thread.joinable()) return;
  impl_->bg_stop = false;
  const auto period = std::max(poll, std::chrono::milliseconds(1));
  impl_->bg_thread = std::thread([this, period] {
    std::unique_lock<std::mutex> l(impl_->bg_mutex);
    while (!impl_->bg_stop) {
      l.unlock();
      try {
        (void)refresh_if_due();
      } catch (...) {
        // refresh records its own failures; nothing may escape the thread
      }
      l.lock();
      impl_->bg_cv.wait_for(l, period, [this] { return impl_->bg_stop; });
    }
  });
}

void MetadataProvider::stop_background() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(impl_->bg_mutex);
    impl_->bg_stop = true;
    t = std::move(impl_->bg_thread);
  }
  impl_->bg_cv.notify_all();
  if (t.joinable()) t.join();
}

} // namespace interkonto

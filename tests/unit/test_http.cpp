// SPDX-License-Identifier: EUPL-1.2
#include <catch2/catch.hpp>

#include "unit/test_util.hpp"

#include <functional>

#include "interkonto/error.hpp"
#include "interkonto/http.hpp"

using namespace interkonto;
using interkonto::test::code_of;

namespace {} // namespace

TEST_CASE("http: request header lookup is case-insensitive and finds the first", "[http]") {
  HttpRequest r;
  r.headers = {{"Content-Type", "text/html"}, {"X-Foo", "1"}, {"x-foo", "2"}};
  REQUIRE(r.header("content-type") == std::optional<std::string_view>("text/html"));
  REQUIRE(r.header("X-FOO") == std::optional<std::string_view>("1"));
  REQUIRE_FALSE(r.header("X-Bar").has_value());
  REQUIRE_FALSE(r.header("Content-Typ").has_value());
}

TEST_CASE("http: cookies from every Cookie header", "[http]") {
  HttpRequest r;
  r.headers = {{"Cookie", "a=1; b=two;c=3"}, {"Host", "x"}, {"cookie", " d = \"quoted\" ; e="}};
  REQUIRE(r.cookie("a") == std::optional<std::string>("1"));
  REQUIRE(r.cookie("b") == std::optional<std::string>("two"));
  REQUIRE(r.cookie("c") == std::optional<std::string>("3"));
  REQUIRE(r.cookie("d") == std::optional<std::string>("quoted"));
  REQUIRE(r.cookie("e") == std::optional<std::string>(""));
  REQUIRE_FALSE(r.cookie("A").has_value()); // names are case-sensitive
  REQUIRE_FALSE(r.cookie("f").has_value());
  REQUIRE_FALSE(r.cookie("Host").has_value());
}

TEST_CASE("http: first cookie of a name wins", "[http]") {
  HttpRequest r;
  r.headers = {{"Cookie", "s=first"}, {"Cookie", "s=second"}};
  REQUIRE(r.cookie("s") == std::optional<std::string>("first"));
}

TEST_CASE("http: query and form parameters are URL-decoded", "[http]") {
  HttpRequest r;
  r.raw_query = "x=1&SAMLRequest=a%2Bb%3D&y=a+b&empty=&flag&bad=%zz&y=second";
  REQUIRE(r.query_param("SAMLRequest") == std::optional<std::string>("a+b="));
  REQUIRE(r.query_param("y") == std::optional<std::string>("a b"));
  REQUIRE(r.query_param("empty") == std::optional<std::string>(""));
  REQUIRE(r.query_param("flag") == std::optional<std::string>(""));
  REQUIRE_FALSE(r.query_param("z").has_value());
  // A bad escape in the value asked for is an error; elsewhere it does not matter.
  REQUIRE(code_of([&] { (void)r.query_param("bad"); }) == ErrorCode::malformed);

  r.body = "RelayState=%2Fhome%3Fa%3D1&SAMLResponse=PHg%2BPC94Pg%3D%3D&name=J%C3%BCrgen+M";
  REQUIRE(r.form_param("RelayState") == std::optional<std::string>("/home?a=1"));
  REQUIRE(r.form_param("SAMLResponse") == std::optional<std::string>("PHg+PC94Pg=="));
  REQUIRE(r.form_param("name") == std::optional<std::string>("J\xC3\xBCrgen M"));
  REQUIRE_FALSE(r.form_param("x").has_value()); // the body, not the query
}

TEST_CASE("http: response headers: set replaces, add appends", "[http]") {
  HttpResponse r;
  r.add_header("Set-Cookie", "a=1");
  r.add_header("set-cookie", "b=2");
  REQUIRE(r.headers.size() == 2);
  r.set_header("Cache-Control", "no-cache");
  r.set_header("cache-control", "no-store");
  REQUIRE(r.header("CACHE-CONTROL") == std::optional<std::string_view>("no-store"));
  REQUIRE(r.headers.size() == 3);
  r.set_header("SET-COOKIE", "c=3");
  REQUIRE(r.headers.size() == 2);
  REQUIRE(r.header("Set-Cookie") == std::optional<std::string_view>("c=3"));
  REQUIRE_FALSE(r.header("Location").has_value());
}

TEST_CASE("http: response headers refuse CR/LF (no response splitting)", "[http]") {
  HttpResponse r;
  REQUIRE_THROWS_AS(r.set_header("Location", "https://x/\r\nSet-Cookie: evil=1"), Error);
  REQUIRE_THROWS_AS(r.add_header("Location", "a\nb"), Error);
  REQUIRE_THROWS_AS(r.add_header("Bad Name", "v"), Error);
  REQUIRE(r.headers.empty());
}

TEST_CASE("http: Set-Cookie formatting", "[http]") {
  CookieOptions opt;
  REQUIRE(make_set_cookie("sid", "abc123", opt) == "sid=abc123; Path=/; Secure; HttpOnly; SameSite=Lax");

  opt.path = "/saml";
  opt.max_age_seconds = 3600;
  opt.same_site = "None";
  REQUIRE(make_set_cookie("ik_req", "x-y_z", opt) ==
          "ik_req=x-y_z; Path=/saml; Max-Age=3600; Secure; HttpOnly; SameSite=None");

  // SameSite=None without Secure is emitted: the caller's choice.
  opt.secure = false;
  opt.http_only = false;
  opt.same_site = "strict";
  opt.max_age_seconds = -5; // delete
  REQUIRE(make_set_cookie("a", "", opt) == "a=; Path=/saml; Max-Age=0; SameSite=Strict");
  opt.same_site = "None";
  REQUIRE(make_set_cookie("a", "1", opt) == "a=1; Path=/saml; Max-Age=0; SameSite=None");

  opt.same_site = "";
  opt.path = "";
  opt.max_age_seconds.reset();
  REQUIRE(make_set_cookie("a", "1", opt) == "a=1");
}

TEST_CASE("http: Set-Cookie refuses values that would break the header", "[http]") {
  const CookieOptions opt;
  REQUIRE_THROWS_AS(make_set_cookie("sid", "a;b", opt), Error);
  REQUIRE_THROWS_AS(make_set_cookie("sid", "a b", opt), Error);
  REQUIRE_THROWS_AS(make_set_cookie("sid", "a\r\nSet-Cookie: x=1", opt), Error);
  REQUIRE_THROWS_AS(make_set_cookie("s id", "a", opt), Error);
  REQUIRE_THROWS_AS(make_set_cookie("", "a", opt), Error);
  CookieOptions bad;
  bad.same_site = "Sometimes";
  REQUIRE(code_of([&] { (void)make_set_cookie("a", "1", bad); }) == ErrorCode::config_invalid);
  bad.same_site = "Lax";
  bad.path = "/; Domain=evil.example";
  REQUIRE_THROWS_AS(make_set_cookie("a", "1", bad), Error);
}

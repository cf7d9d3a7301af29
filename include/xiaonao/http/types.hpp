#pragma once
/// Wire types shared by the HTTP layer.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/beast/http.hpp>

#include "xiaonao/domain/auth.hpp"
#include "xiaonao/domain/error.hpp"

namespace xiaonao::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

/// Delivers a handler's response; callable from any thread, exactly once.
using Reply = std::function<void(Response)>;

/// What a handler sees of one request.
struct Call {
  const Request& req;
  std::string path;
  std::map<std::string, std::string> query;
  std::vector<std::string> params;  ///< values of the route's {placeholders}, in order
  std::string request_id;
  /// Who is calling; null only on routes open to anyone.
  std::shared_ptr<const domain::Principal> principal;
  /// The client's IP address.
  std::string address;
};

using Handler = std::function<void(Call&, Reply)>;

/// A JSON response with the given status.
Response json_response(unsigned status, std::string body);
/// The contract's error body for an error, with its status.
Response error_response(const domain::Error& e);

}  // namespace xiaonao::http

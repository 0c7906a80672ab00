// Errors raised by the core. Every error names the file and, where known, the variable,
// so a user can act on it without a debugger. The kind maps onto Python exception
// classes (elmai.errors) and onto C ABI status codes (elmai.h).
#pragma once

#include <stdexcept>
#include <string>

namespace elmai {

enum class ErrorKind : int {
  File = 1,      // missing, unreadable or unwritable file
  Format = 2,    // not NetCDF, truncated, or a layout the core cannot handle
  Variable = 3,  // unknown variable or attribute
  Shape = 4,     // array shape does not match the variable
  Dtype = 5,     // array dtype does not match the variable
  Value = 6,     // NaN/Inf or otherwise invalid values
  Argument = 7,  // invalid call (e.g. dst == src)
  Internal = 99,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace elmai

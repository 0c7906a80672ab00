// Shared by the two Python extension modules (_core: the file layer; _runner: the model
// runner): elmai::Error becomes the Python exception class of its kind (elmai.errors).
#pragma once

#include <pybind11/pybind11.h>

#include <exception>

#include "elmai/error.hpp"

namespace elmai::python {

inline const char* exception_class(ErrorKind kind) {

  switch (kind) {
    case ErrorKind::File: return "ElmaiFileError";
    case ErrorKind::Format: return "FileFormatError";
    case ErrorKind::Variable: return "VariableNotFoundError";
    case ErrorKind::Shape: return "ShapeError";
    case ErrorKind::Dtype: return "DtypeError";
    case ErrorKind::Value: return "InvalidValueError";
    case ErrorKind::Argument: return "InvalidArgumentError";
    default: return "ElmaiError";
  }
}

inline void register_errors() {
  namespace py = pybind11;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const elmai::Error& e) {
      py::object cls = py::module_::import("elmai.errors").attr(exception_class(e.kind()));
      PyErr_SetObject(cls.ptr(), py::str(e.what()).ptr());
    }
  });
}

}  // namespace elmai::python

// The Python face of the model runner (libtorch: TorchScript and AOTInductor), apart from
// the file layer (_core) so that reading and checking a restart never loads libtorch.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "elmai/build_info.hpp"
#include "elmai/error.hpp"
#include "elmai/model_runner.hpp"
#include "python_errors.hpp"

namespace py = pybind11;
using elmai::ErrorKind;

namespace {

// A zero-copy view of a float32/float64 numpy array (any non-negative strides).
elmai::TensorView view_of(const py::array& arr, std::size_t index) {
  elmai::TensorView v;
  const std::string dt = py::str(arr.dtype().attr("str"));
  if (dt == "<f4")
    v.dtype = elmai::DType::Float32;
  else if (dt == "<f8")
    v.dtype = elmai::DType::Float64;
  else
    throw elmai::Error(ErrorKind::Dtype, "input " + std::to_string(index + 1) + " has dtype " +
                                             py::str(arr.dtype().attr("name")).cast<std::string>() +
                                             "; models take float32 or float64 arrays");
  const auto item = static_cast<py::ssize_t>(arr.itemsize());
  for (py::ssize_t k = 0; k < arr.ndim(); ++k) {
    v.shape.push_back(arr.shape(k));
    if (arr.strides(k) < 0 || arr.strides(k) % item != 0)
      throw elmai::Error(ErrorKind::Argument, "input " + std::to_string(index + 1) +
                                                  " has negative or unaligned strides; pass np.ascontiguousarray(x)");
    v.strides.push_back(arr.strides(k) / item);
  }
  v.data = const_cast<void*>(arr.data());
  if (v.contiguous()) v.strides.clear();
  return v;
}

class PyModel {
 public:
  PyModel(const std::string& path, const std::string& device, int threads, int warmup) {
    elmai::ModelOptions opt;
    opt.device = device;
    opt.threads = threads;
    opt.warmup = warmup;
    backend_ = elmai::load_model(path, opt);
  }
  py::list forward(const py::sequence& inputs) {
    std::vector<py::array> keep;
    std::vector<elmai::TensorView> views;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      py::array arr = py::array::ensure(inputs[i]);
      if (!arr) throw elmai::Error(ErrorKind::Dtype, "input " + std::to_string(i + 1) + " is not an array");
      views.push_back(view_of(arr, i));
      keep.push_back(arr);
    }
    std::vector<elmai::OwnedTensor> results;
    {
      py::gil_scoped_release release;
      results = backend_->forward(views);
    }
    py::list out;
    for (const auto& r : results) {
      std::vector<py::ssize_t> shape(r.shape.begin(), r.shape.end());
      out.append(py::array(py::dtype(r.dtype == elmai::DType::Float32 ? "<f4" : "<f8"), shape, r.bytes.data()));
    }
    return out;
  }
  const elmai::ModelBackend& backend() const { return *backend_; }

 private:
  std::unique_ptr<elmai::ModelBackend> backend_;
};

}  // namespace

PYBIND11_MODULE(_runner, m) {
  m.doc() = "elmai compiled core, model runner: exported models through libtorch";
  elmai::python::register_errors();
  py::class_<PyModel>(m, "Model")
      .def(py::init<const std::string&, const std::string&, int, int>(), py::arg("path"), py::arg("device") = "cpu",
           py::arg("threads") = 0, py::arg("warmup") = 2)
      .def("forward", &PyModel::forward, py::arg("inputs"))
      .def_property_readonly("path", [](const PyModel& m) { return m.backend().path(); })
      .def_property_readonly("device", [](const PyModel& m) { return m.backend().device(); })
      .def_property_readonly("format", [](const PyModel& m) { return elmai::format_name(m.backend().format()); })
      .def_property_readonly("input_names", [](const PyModel& m) { return m.backend().input_names(); })
      .def_property_readonly("output_names", [](const PyModel& m) { return m.backend().output_names(); });
  m.def("model_format", [](const std::string& path) { return elmai::format_name(elmai::model_format(path)); },
        py::arg("path"));
  m.def("set_num_threads", &elmai::set_num_threads, py::arg("n"));
  m.def("get_num_threads", &elmai::get_num_threads);
  m.def("build_info", &elmai::build_info);
  m.attr("__version__") = elmai::version();
}

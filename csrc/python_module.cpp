// pybind11 face of the core: elmai._core. Python-facing wrappers live in python/elmai.
#include <pybind11/numpy.h>
#include <cstring>
#include <string_view>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "elmai/balance_check.hpp"
#include "elmai/restart_check.hpp"
#include "elmai/dataset_writer.hpp"
#include "elmai/restart_file.hpp"
#include "elmai/restart_writer.hpp"
#include "python_errors.hpp"

namespace py = pybind11;
using elmai::ErrorKind;

namespace {

py::object attribute_value(const elmai::Attribute& a) {
  if (a.type == NC_CHAR) {
    std::string s(a.bytes.begin(), a.bytes.end());
    while (!s.empty() && s.back() == '\0') s.pop_back();
    return py::str(py::bytes(s).attr("decode")("utf-8", "replace"));
  }
  std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(a.length)};
  return py::array(py::dtype(elmai::nc::dtype_of(a.type)), shape, a.bytes.data());  // copies
}

py::dict attributes_dict(const elmai::RestartFile& f, const std::string& var) {
  py::dict d;
  for (const auto& a : f.attributes(var))  // a damaged header's name is shown, not fatal
    d[py::bytes(a.name).attr("decode")("utf-8", "replace")] = attribute_value(a);
  return d;
}

py::array read_variable(const elmai::RestartFile& f, const std::string& name) {
  const auto& v = f.info(name);
  std::vector<py::ssize_t> shape(v.shape.begin(), v.shape.end());
  py::array arr(py::dtype(elmai::nc::dtype_of(v.type)), shape);
  const std::size_t nbytes = static_cast<std::size_t>(arr.nbytes());
  void* data = arr.mutable_data();
  {
    py::gil_scoped_release release;
    f.read(name, data, nbytes);
  }
  return arr;
}

void write_restart(const std::string& src, const std::string& dst, const py::dict& updates,
                   const std::string& history, const std::string& method) {
  if (method != "auto" && method != "define")
    throw elmai::Error(ErrorKind::Argument, "method must be 'auto' or 'define', not '" + method + "'");
  std::vector<elmai::VariableUpdate> list;
  std::vector<py::array> keep;  // holds contiguous copies alive during the write
  for (auto item : updates) {
    auto name = item.first.cast<std::string>();
    py::array arr = py::array::ensure(item.second, py::array::c_style);
    if (!arr) throw elmai::Error(ErrorKind::Dtype, "update for '" + name + "' is not an array");
    elmai::VariableUpdate u;
    u.name = name;
    std::string dt = py::str(arr.dtype().attr("str"));
    try {
      u.type = elmai::nc::type_of_dtype(dt);
    } catch (const elmai::Error&) {
      throw elmai::Error(ErrorKind::Dtype, "update for '" + name + "' has dtype " + dt +
                                               ", which no restart variable can hold");
    }
    for (py::ssize_t k = 0; k < arr.ndim(); ++k) u.shape.push_back(static_cast<std::size_t>(arr.shape(k)));
    u.data = arr.data();
    keep.push_back(arr);
    list.push_back(std::move(u));
  }
  py::gil_scoped_release release;
  elmai::write_restart(src, dst, list, history,
                       method == "define" ? elmai::CopyMethod::Define : elmai::CopyMethod::Auto);
}

// Converts a Python attribute value (str or array-like) into a NewAttribute whose data
// points into `keep`, which must outlive the write.
elmai::NewAttribute to_attribute(const std::string& name, const py::handle& value, std::vector<py::object>& keep) {
  elmai::NewAttribute a;
  a.name = name;
  if (py::isinstance<py::str>(value)) {
    py::bytes b = py::reinterpret_borrow<py::str>(value).attr("encode")("utf-8");
    keep.push_back(b);
    std::string_view view = PyBytes_AsString(b.ptr());
    a.type = NC_CHAR;
    a.length = static_cast<std::size_t>(PyBytes_Size(b.ptr()));
    a.data = view.data();
    return a;
  }
  py::array arr = py::array::ensure(py::module_::import("numpy").attr("atleast_1d")(value), py::array::c_style);
  if (!arr) throw elmai::Error(ErrorKind::Dtype, "attribute '" + name + "' is neither text nor numeric");
  keep.push_back(arr);
  a.type = elmai::nc::type_of_dtype(py::str(arr.dtype().attr("str")));
  a.length = static_cast<std::size_t>(arr.size());
  a.data = arr.data();
  return a;
}

std::vector<elmai::NewAttribute> to_attributes(const py::dict& attrs, std::vector<py::object>& keep) {
  std::vector<elmai::NewAttribute> out;
  for (auto item : attrs) out.push_back(to_attribute(item.first.cast<std::string>(), item.second, keep));
  return out;
}

// variables: list of (name, dims tuple, array, attrs dict)
void create_file(const std::string& path, const std::string& format, const py::list& dims,
                 const py::dict& global_attrs, const py::list& variables, std::size_t header_pad) {
  std::vector<py::object> keep;
  std::vector<elmai::NewDimension> dlist;
  for (auto d : dims) {
    auto t = d.cast<py::tuple>();
    dlist.push_back({t[0].cast<std::string>(), t[1].cast<std::size_t>(), t[2].cast<bool>()});
  }
  auto gatts = to_attributes(global_attrs, keep);
  std::vector<elmai::NewVariable> vlist;
  for (auto item : variables) {
    auto t = item.cast<py::tuple>();
    elmai::NewVariable v;
    v.name = t[0].cast<std::string>();
    v.dims = t[1].cast<std::vector<std::string>>();
    py::array arr = py::array::ensure(t[2], py::array::c_style);
    if (!arr) throw elmai::Error(ErrorKind::Dtype, "data for '" + v.name + "' is not an array");
    keep.push_back(arr);
    v.type = elmai::nc::type_of_dtype(py::str(arr.dtype().attr("str")));
    for (py::ssize_t k = 0; k < arr.ndim(); ++k) v.shape.push_back(static_cast<std::size_t>(arr.shape(k)));
    v.data = arr.data();
    v.attrs = to_attributes(t[3].cast<py::dict>(), keep);
    vlist.push_back(std::move(v));
  }
  py::gil_scoped_release release;
  elmai::create_file(path, format, dlist, gatts, vlist, header_pad);
}

using DoubleArray = py::array_t<double, py::array::c_style>;

// Column arrays for the balance check: float64, 1-D, all of one length (no conversion,
// so a float32 flux is refused rather than silently widened).
elmai::BalanceTerms balance_terms(const py::array& begin, const py::array& end, const py::sequence& inputs,
                                  const py::sequence& outputs, std::vector<py::array>& keep) {
  elmai::BalanceTerms t;
  auto take = [&](const py::handle& obj, const std::string& what) -> const double* {
    py::array arr = py::array::ensure(obj);
    if (!arr || py::str(arr.dtype().attr("str")).cast<std::string>() != "<f8")
      throw elmai::Error(ErrorKind::Dtype, "balance check: " + what + " must be a float64 array");
    if (arr.ndim() != 1)
      throw elmai::Error(ErrorKind::Shape, "balance check: " + what + " must be 1-D (one value per column)");
    if (t.ncol < 0) t.ncol = arr.shape(0);
    if (arr.shape(0) != t.ncol)
      throw elmai::Error(ErrorKind::Shape, "balance check: " + what + " has " + std::to_string(arr.shape(0)) +
                                               " columns, begin has " + std::to_string(t.ncol));
    arr = py::array::ensure(arr, py::array::c_style);
    keep.push_back(arr);
    return static_cast<const double*>(arr.data());
  };
  t.ncol = -1;
  t.begin = take(begin, "begin");
  t.end = take(end, "end");
  for (std::size_t i = 0; i < inputs.size(); ++i) t.inputs.push_back(take(inputs[i], "input " + std::to_string(i + 1)));
  for (std::size_t i = 0; i < outputs.size(); ++i)
    t.outputs.push_back(take(outputs[i], "output " + std::to_string(i + 1)));
  return t;
}

py::tuple check_balance_py(const py::array& begin, const py::array& end, const py::sequence& inputs,
                           const py::sequence& outputs, double dt, double fail_tol, double warn_tol, int threads) {
  std::vector<py::array> keep;
  auto terms = balance_terms(begin, end, inputs, outputs, keep);
  elmai::BalanceSummary s;
  {
    py::gil_scoped_release release;
    s = elmai::check_balance(terms, dt, fail_tol, warn_tol, threads);
  }
  py::array_t<std::int64_t> cols(static_cast<py::ssize_t>(s.columns.size()));
  DoubleArray errs(static_cast<py::ssize_t>(s.columns.size()));
  py::array_t<bool> fails(static_cast<py::ssize_t>(s.columns.size()));
  for (std::size_t i = 0; i < s.columns.size(); ++i) {
    cols.mutable_at(i) = s.columns[i].column;
    errs.mutable_at(i) = s.columns[i].error;
    fails.mutable_at(i) = s.columns[i].fail;
  }
  return py::make_tuple(cols, errs, fails, s.max_abs_error, s.max_column);
}

DoubleArray balance_errors_py(const py::array& begin, const py::array& end, const py::sequence& inputs,
                              const py::sequence& outputs, double dt, int threads) {
  std::vector<py::array> keep;
  auto terms = balance_terms(begin, end, inputs, outputs, keep);
  DoubleArray out(terms.ncol);
  double* p = out.mutable_data();
  py::gil_scoped_release release;
  elmai::balance_errors(terms, dt, p, threads);
  return out;
}

py::dict check_restart_py(const std::string& path, const py::dict& o) {
  elmai::CheckOptions opt;
  if (o.contains("rtol")) opt.rtol = o["rtol"].cast<double>();
  if (o.contains("negative_tolerance")) opt.negative_tolerance = o["negative_tolerance"].cast<double>();
  if (o.contains("weight_tolerance")) opt.weight_tolerance = o["weight_tolerance"].cast<double>();
  if (o.contains("stoichiometry_factor")) opt.stoichiometry_factor = o["stoichiometry_factor"].cast<double>();
  if (o.contains("soil_cn")) opt.soil_cn = o["soil_cn"].cast<std::vector<double>>();
  if (o.contains("soil_cp")) opt.soil_cp = o["soil_cp"].cast<std::vector<double>>();
  if (o.contains("dzsoi_decomp")) opt.dzsoi_decomp = o["dzsoi_decomp"].cast<std::vector<double>>();
  if (o.contains("pft_params")) opt.pft_params = o["pft_params"].cast<std::map<std::string, std::vector<double>>>();
  if (o.contains("max_per_rule")) opt.max_per_rule = o["max_per_rule"].cast<int>();
  if (o.contains("nan_allowed")) opt.nan_allowed = o["nan_allowed"].cast<std::vector<std::string>>();
  if (o.contains("signed_pools")) opt.signed_pools = o["signed_pools"].cast<std::vector<std::string>>();
  if (o.contains("totals"))
    for (const auto& t : o["totals"].cast<py::list>()) {
      const auto d = t.cast<py::dict>();
      elmai::TotalSpec spec;
      spec.name = d["name"].cast<std::string>();
      spec.terms = d["terms"].cast<std::vector<std::string>>();
      if (d.contains("optional")) spec.optional = d["optional"].cast<std::vector<std::string>>();
      opt.totals.push_back(std::move(spec));
    }
  if (o.contains("seed_carbon"))
    opt.seed_carbon = o["seed_carbon"].cast<std::map<std::string, std::vector<double>>>();
  if (o.contains("seed_nutrients"))
    opt.seed_nutrients = o["seed_nutrients"].cast<std::map<std::string, std::pair<std::string, std::string>>>();
  if (o.contains("deadwood")) opt.deadwood = o["deadwood"].cast<std::vector<std::string>>();
  if (o.contains("spinup_mortality_factor"))
    opt.spinup_mortality_factor = o["spinup_mortality_factor"].cast<double>();
  for (const auto& [key, field] : {std::pair{"decomp_pools", &opt.decomp_pools}, std::pair{"soil_pools", &opt.soil_pools},
                                    std::pair{"tissues", &opt.tissues}, std::pair{"tissue_cn_params", &opt.tissue_cn_params},
                                    std::pair{"tissue_cp_params", &opt.tissue_cp_params}})
    if (o.contains(key)) *field = o[key].cast<std::vector<std::string>>();
  if (o.contains("soil_filter_landunits"))
    opt.soil_filter_landunits = o["soil_filter_landunits"].cast<std::vector<int>>();
  elmai::CheckReport r;
  {
    py::gil_scoped_release release;
    r = elmai::check_restart(path, opt);
  }
  auto as_list = [](const std::vector<elmai::CheckFailure>& found) {
    py::list out;
    for (const auto& f : found) {
      py::dict d;
      d["rule"] = f.rule;
      d["variable"] = f.variable;
      d["where"] = f.where;
      d["index"] = f.index;
      d["gridcell"] = f.gridcell;
      d["lat"] = f.lat;
      d["lon"] = f.lon;
      d["value"] = f.value;
      d["expected"] = f.expected;
      d["message"] = f.message;
      out.append(d);
    }
    return out;
  };
  py::dict out;
  out["path"] = r.path;
  out["failures"] = as_list(r.failures);
  out["warnings"] = as_list(r.warnings);
  out["warning_counts"] = r.warning_counts;
  out["counts"] = r.counts;
  out["rules_run"] = r.rules_run;
  out["rules_skipped"] = r.rules_skipped;
  out["notes"] = r.notes;
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "elmai compiled core, file layer: ELM restart I/O (netcdf-c) and checks (no libtorch)";
  elmai::python::register_errors();

  py::class_<elmai::RestartFile>(m, "RestartFile")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def_property_readonly("path", &elmai::RestartFile::path)
      .def_property_readonly("format", [](const elmai::RestartFile& f) { return elmai::format_name(f.format()); })
      .def_property_readonly("is_open", &elmai::RestartFile::is_open)
      .def("dimensions",
           [](const elmai::RestartFile& f) {
             py::list out;
             for (const auto& d : f.dims()) out.append(py::make_tuple(d.name, d.length, d.unlimited));
             return out;
           })
      .def("variable_names",
           [](const elmai::RestartFile& f) {
             py::list out;
             for (const auto& v : f.variables()) out.append(v.name);
             return out;
           })
      .def("variable_info",
           [](const elmai::RestartFile& f, const std::string& name) {
             const auto& v = f.info(name);
             return py::make_tuple(elmai::nc::dtype_of(v.type), py::tuple(py::cast(v.dims)),
                                   py::tuple(py::cast(v.shape)));
           })
      .def("has_variable", &elmai::RestartFile::has_variable)
      .def("read", &read_variable, py::arg("name"))
      .def("attributes", &attributes_dict, py::arg("variable") = "")
      .def("close", &elmai::RestartFile::close);

  m.def("write_restart", &write_restart, py::arg("src"), py::arg("dst"), py::arg("updates"), py::arg("history"),
        py::arg("method") = "auto");
  m.def("create_file", &create_file, py::arg("path"), py::arg("format"), py::arg("dims"),
        py::arg("global_attrs"), py::arg("variables"), py::arg("header_pad") = 0);
  m.def("check_balance", &check_balance_py, py::arg("begin"), py::arg("end"), py::arg("inputs"), py::arg("outputs"),
        py::arg("dt"), py::arg("fail_tolerance"), py::arg("warn_tolerance"), py::arg("threads") = 0);
  m.def("balance_errors", &balance_errors_py, py::arg("begin"), py::arg("end"), py::arg("inputs"),
        py::arg("outputs"), py::arg("dt"), py::arg("threads") = 0);
  m.def("check_restart", &check_restart_py, py::arg("path"), py::arg("options"));
  m.attr("__version__") = ELMAI_VERSION_STRING;
}

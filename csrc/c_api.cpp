// C ABI. No C++ exception may cross this boundary: each entry point runs its body
// through guarded(), which turns exceptions into status codes and a message.
#include "elmai.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "elmai/balance_check.hpp"
#include "elmai/build_info.hpp"
#include "elmai/model_runner.hpp"
#include "elmai/restart_file.hpp"

namespace {
// Live objects per handle type (restart, model, tensor), for leak tests.
std::atomic<std::int64_t> live_counts[3];
template <int Kind>
struct Counted {
  Counted() { live_counts[Kind].fetch_add(1); }
  Counted(const Counted&) : Counted() {}
  ~Counted() { live_counts[Kind].fetch_sub(1); }
};
}  // namespace

// Every handle is reference counted: *_retain adds a reference (the Fortran module's
// assignment does, so a copied handle stays valid), *_free / *_close drops one and the
// object goes with the last.
struct elmai_restart {
  elmai::RestartFile file;
  std::atomic<int> refs{1};
  Counted<0> counted{};
};

struct elmai_model {
  std::unique_ptr<elmai::ModelBackend> backend;  // thread-safe itself (per-model lock)
  std::mutex mutex;                              // guards in/out below
  std::vector<elmai::TensorView> in, out;        // reused between calls: no allocation per forward
  std::atomic<int> refs{1};
  Counted<1> counted{};
};

struct elmai_tensor {
  elmai::TensorView view;
  std::atomic<int> refs{1};
  Counted<2> counted{};
};

namespace {

thread_local std::string last_error;

template <typename F>
int guarded(F&& body) {
  last_error.clear();
  try {
    body();
    return ELMAI_OK;
  } catch (const elmai::Error& e) {
    last_error = e.what();
    return static_cast<int>(e.kind());
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown error";
  }
  return ELMAI_ERR_INTERNAL;
}

// For release/retain: keeps the thread's last error (a Fortran final procedure runs
// them implicitly, between a failing call and the caller reading its message).
template <typename F>
int guarded_keep(F&& body) {
  const std::string saved = last_error;
  const int status = guarded(std::forward<F>(body));
  if (status == ELMAI_OK) last_error = saved;
  return status;
}

void require(bool ok, const char* what) {
  if (!ok) throw elmai::Error(elmai::ErrorKind::Argument, what);
}

}  // namespace

extern "C" {

const char* elmai_last_error(void) { return last_error.c_str(); }

const char* elmai_version(void) { return elmai::version(); }

int elmai_report_error(int status, const char* message) {
  last_error = message ? message : "";
  return status;
}

int elmai_restart_open(const char* path, elmai_restart** out) {
  return guarded([&] {
    require(path && out, "elmai_restart_open: null argument");
    *out = nullptr;
    *out = new elmai_restart{elmai::RestartFile(path)};
  });
}

int elmai_restart_retain(elmai_restart* file) {
  return guarded_keep([&] {
    require(file, "elmai_restart_retain: null handle");
    file->refs.fetch_add(1);
  });
}

int elmai_restart_close(elmai_restart* file) {
  return guarded_keep([&] {
    if (!file) return;
    if (file->refs.fetch_sub(1) > 1) return;  // another copy of the handle still uses it
    std::unique_ptr<elmai_restart> owned(file);
    owned->file.close();
  });
}

int elmai_restart_var_shape(elmai_restart* file, const char* name, int* ndims, int64_t* shape, int maxdims) {
  return guarded([&] {
    require(file && name && ndims, "elmai_restart_var_shape: null argument");
    const auto& v = file->file.info(name);
    *ndims = static_cast<int>(v.shape.size());
    if (*ndims > maxdims)
      throw elmai::Error(elmai::ErrorKind::Shape, std::string("'") + name + "' has " + std::to_string(*ndims) +
                                                      " dimensions, more than the " + std::to_string(maxdims) +
                                                      " the caller allows");
    for (int k = 0; k < *ndims; ++k) shape[k] = static_cast<int64_t>(v.shape[k]);
  });
}

int elmai_restart_read_double(elmai_restart* file, const char* name, double* out, int ndims,
                              const int64_t* shape) {
  return guarded([&] {
    require(file && name && ndims >= 0 && (shape || ndims == 0), "elmai_restart_read_double: invalid argument");
    const auto& v = file->file.info(name);
    std::vector<std::size_t> given(shape, shape + ndims);
    if (given != v.shape) {
      auto text = [](const std::vector<std::size_t>& s) {
        std::string t = "(";
        for (std::size_t k = 0; k < s.size(); ++k) t += (k ? ", " : "") + std::to_string(s[k]);
        return t + ")";
      };
      throw elmai::Error(elmai::ErrorKind::Shape, "array for '" + v.name + "' in '" + file->file.path() +
                                                      "' has C-order shape " + text(given) + ", the variable is " +
                                                      text(v.shape));
    }
    require(out || v.count() == 0, "elmai_restart_read_double: null output array");
    file->file.read_as_double(name, out, v.count());
  });
}

int elmai_model_load(const char* path, const char* device, int nthreads, elmai_model** out) {
  return guarded([&] {
    require(path && out, "elmai_model_load: null argument");
    *out = nullptr;
    elmai::ModelOptions opt;
    if (device && *device) opt.device = device;
    opt.threads = nthreads;
    auto model = std::make_unique<elmai_model>();
    model->backend = elmai::load_model(path, opt);
    *out = model.release();
  });
}

int elmai_model_retain(elmai_model* model) {
  return guarded_keep([&] {
    require(model, "elmai_model_retain: null handle");
    model->refs.fetch_add(1);
  });
}

int elmai_model_free(elmai_model* model) {
  return guarded_keep([&] {
    if (model && model->refs.fetch_sub(1) == 1) delete model;
  });
}

int elmai_model_num_inputs(const elmai_model* model, int* n) {
  return guarded([&] {
    require(model && n, "elmai_model_num_inputs: null argument");
    *n = static_cast<int>(model->backend->input_names().size());
  });
}

int elmai_model_forward(elmai_model* model, elmai_tensor* const* inputs, int ninputs, elmai_tensor* const* outputs,
                        int noutputs) {
  return guarded([&] {
    require(model && ninputs >= 0 && noutputs >= 0 && (inputs || !ninputs) && (outputs || !noutputs),
            "elmai_model_forward: invalid argument");
    std::lock_guard<std::mutex> lock(model->mutex);
    model->in.resize(static_cast<std::size_t>(ninputs));
    model->out.resize(static_cast<std::size_t>(noutputs));
    for (int i = 0; i < ninputs; ++i) {
      require(inputs[i], "elmai_model_forward: input tensor is null (not created or already freed)");
      model->in[i] = inputs[i]->view;
    }
    for (int i = 0; i < noutputs; ++i) {
      require(outputs[i], "elmai_model_forward: output tensor is null (not created or already freed)");
      model->out[i] = outputs[i]->view;
    }
    model->backend->forward(model->in, model->out);
  });
}

namespace {

elmai::DType to_dtype(int dtype) {
  if (dtype == ELMAI_FLOAT32) return elmai::DType::Float32;
  if (dtype == ELMAI_FLOAT64) return elmai::DType::Float64;
  throw elmai::Error(elmai::ErrorKind::Dtype, "dtype code " + std::to_string(dtype) +
                                                   " is not ELMAI_FLOAT32 (0) or ELMAI_FLOAT64 (1)");
}

void check_rank(int ndims) {
  if (ndims < 0 || ndims > 8)
    throw elmai::Error(elmai::ErrorKind::Shape, "tensor rank " + std::to_string(ndims) + " is outside 0..8");
}

}  // namespace

int elmai_tensor_create(void* data, int dtype, int ndims, const int64_t* shape, const int64_t* strides,
                        elmai_tensor** out) {
  return guarded([&] {
    require(out && (shape || ndims == 0), "elmai_tensor_create: null argument");
    *out = nullptr;
    check_rank(ndims);
    elmai::TensorView v;
    v.dtype = to_dtype(dtype);
    v.shape.assign(shape, shape + ndims);
    for (auto s : v.shape)
      if (s < 0) throw elmai::Error(elmai::ErrorKind::Shape, "negative extent in tensor shape");
    if (strides) v.strides.assign(strides, strides + ndims);
    require(data || v.numel() == 0, "elmai_tensor_create: null data");
    v.data = data;
    *out = new elmai_tensor{std::move(v)};
  });
}

int elmai_tensor_from_fortran(void* data, int dtype, int ndims, const int64_t* fshape, const int* layout,
                              int nlayout, elmai_tensor** out) {
  return guarded([&] {
    require(out && (fshape || ndims == 0), "elmai_tensor_from_fortran: null argument");
    *out = nullptr;
    check_rank(ndims);
    if (layout && nlayout != ndims)
      throw elmai::Error(elmai::ErrorKind::Argument, "layout has " + std::to_string(nlayout) +
                                                         " entries but the array has rank " + std::to_string(ndims));
    std::vector<int64_t> fstride(static_cast<std::size_t>(ndims), 1);
    for (int k = 1; k < ndims; ++k) fstride[k] = fstride[k - 1] * fshape[k - 1];
    std::vector<int64_t> shape(static_cast<std::size_t>(ndims)), strides(static_cast<std::size_t>(ndims));
    std::vector<bool> used(static_cast<std::size_t>(ndims), false);
    for (int k = 0; k < ndims; ++k) {
      const int pos = layout ? layout[k] : ndims - k;  // 1-based model dimension of Fortran dim k+1
      if (pos < 1 || pos > ndims || used[pos - 1]) {
        std::string text;
        for (int j = 0; j < ndims; ++j) text += (j ? "," : "") + std::to_string(layout[j]);
        throw elmai::Error(elmai::ErrorKind::Argument, "layout [" + text + "] is not a permutation of 1.." +
                                                           std::to_string(ndims));
      }
      used[pos - 1] = true;
      shape[pos - 1] = fshape[k];
      strides[pos - 1] = fstride[k];
    }
    elmai::TensorView v;
    v.dtype = to_dtype(dtype);
    v.shape = std::move(shape);
    v.strides = std::move(strides);
    require(data || v.numel() == 0, "elmai_tensor_from_fortran: null data");
    v.data = data;
    if (v.contiguous()) v.strides.clear();
    *out = new elmai_tensor{std::move(v)};
  });
}

int elmai_tensor_retain(elmai_tensor* tensor) {
  return guarded_keep([&] {
    require(tensor, "elmai_tensor_retain: null handle");
    tensor->refs.fetch_add(1);
  });
}

int elmai_tensor_free(elmai_tensor* tensor) {
  return guarded_keep([&] {
    if (tensor && tensor->refs.fetch_sub(1) == 1) delete tensor;
  });
}

int elmai_balance_check_columns(int64_t ncol, const double* begin, const double* end, int nin, const double* inputs,
                                int nout, const double* outputs, double dt, double fail_tol, double warn_tol,
                                int64_t* nfail, int64_t* nwarn, double* max_abs_error, int64_t* failing_columns,
                                int64_t capacity) {
  return guarded([&] {
    require(nfail && nwarn && max_abs_error && nin >= 0 && nout >= 0 && capacity >= 0,
            "elmai_balance_check_columns: invalid argument");
    require((inputs || nin == 0 || ncol == 0) && (outputs || nout == 0 || ncol == 0),
            "elmai_balance_check_columns: null term array");
    elmai::BalanceTerms t;
    t.ncol = ncol;
    t.begin = begin;
    t.end = end;
    for (int k = 0; k < nin; ++k) t.inputs.push_back(inputs + static_cast<int64_t>(k) * ncol);
    for (int k = 0; k < nout; ++k) t.outputs.push_back(outputs + static_cast<int64_t>(k) * ncol);
    const auto s = elmai::check_balance(t, dt, fail_tol, warn_tol);
    *nfail = s.nfail;
    *nwarn = s.nwarn;
    *max_abs_error = s.max_abs_error;
    int64_t n = 0;
    for (const auto& c : s.columns)
      if (c.fail && n < capacity && failing_columns) failing_columns[n++] = c.column;
  });
}

int elmai_live_handles(int64_t* restarts, int64_t* models, int64_t* tensors) {
  return guarded([&] {
    require(restarts && models && tensors, "elmai_live_handles: null argument");
    *restarts = live_counts[0].load();
    *models = live_counts[1].load();
    *tensors = live_counts[2].load();
  });
}

int elmai_set_num_threads(int nthreads) {
  return guarded([&] { elmai::set_num_threads(nthreads); });
}

int elmai_get_num_threads(int* nthreads) {
  return guarded([&] {
    require(nthreads, "elmai_get_num_threads: null argument");
    *nthreads = elmai::get_num_threads();
  });
}

}  // extern "C"

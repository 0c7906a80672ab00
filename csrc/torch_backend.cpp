#include "torch_backend.hpp"

#include <c10/core/InferenceMode.h>
#include <sys/stat.h>
#include <torch/cuda.h>

#include <cstring>

namespace elmai::detail {

std::string shape_text(c10::IntArrayRef s) {
  std::string t = "[";
  for (std::size_t k = 0; k < s.size(); ++k) t += (k ? ", " : "") + std::to_string(s[k]);
  return t + "]";
}

at::ScalarType scalar_type(DType t) { return t == DType::Float32 ? at::kFloat : at::kDouble; }

std::string last_line(const std::string& msg) {
  const auto end = msg.find_last_not_of("\n ");
  if (end == std::string::npos) return msg;
  const auto start = msg.rfind('\n', end);
  return msg.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

std::string torch_message(const c10::Error& e) {
  const std::string msg = e.what_without_backtrace();
  return msg.find("Traceback") != std::string::npos ? last_line(msg) : msg.substr(0, msg.find('\n'));
}

void require_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(ErrorKind::File, "model file '" + path + "' does not exist or is not a file");
}

c10::Device parse_device(const std::string& name, const std::string& path) {
  c10::Device device = c10::kCPU;
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw Error(ErrorKind::Argument, "unknown device '" + name + "' (use cpu, cuda or cuda:N)");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw Error(ErrorKind::Argument, "device '" + name + "' requested for model '" + path +
                                         "' but no CUDA device is available to this build of libtorch");
  return device;
}

TorchBackend::TorchBackend(const std::string& path, const ModelOptions& opt)
    : path_(path), device_name_(opt.device), warmup_(opt.warmup) {
  require_file(path);
  device_ = parse_device(opt.device, path);
  if (opt.threads > 0) set_num_threads(opt.threads);
}

at::Tensor TorchBackend::wrap(const TensorView& v, c10::Device device) const {
  auto options = at::TensorOptions().dtype(scalar_type(v.dtype)).device(at::kCPU);
  at::Tensor t = v.strides.empty() ? at::from_blob(v.data, v.shape, options)
                                   : at::from_blob(v.data, v.shape, v.strides, options);
  return device.is_cpu() ? t : t.to(device);
}

std::vector<at::Tensor> TorchBackend::run(const std::vector<TensorView>& inputs) {
  if (inputs.size() != input_names_.size()) {
    std::string names;
    for (const auto& n : input_names_) names += (names.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::Argument, "model '" + path_ + "' takes " + std::to_string(input_names_.size()) +
                                         " inputs (" + names + ") but " + std::to_string(inputs.size()) +
                                         " were given");
  }
  args_.clear();  // reused: no allocation per call at small batch
  for (const auto& v : inputs) args_.emplace_back(wrap(v, device_));
  try {
    return run_model(args_);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Value, "model '" + path_ + "' failed: " + torch_message(e));
  } catch (const std::exception& e) {  // the TorchScript interpreter throws std::runtime_error
    throw Error(ErrorKind::Value, "model '" + path_ + "' failed: " + last_line(e.what()));
  }
}

void TorchBackend::forward(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) {
  c10::InferenceMode guard;
  std::vector<at::Tensor> results = run(inputs);
  if (results.size() != outputs.size())
    throw Error(ErrorKind::Argument, "model '" + path_ + "' returns " + std::to_string(results.size()) +
                                         " outputs but " + std::to_string(outputs.size()) + " were given");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const at::Tensor& r = results[i];
    const TensorView& o = outputs[i];
    if (r.sizes() != c10::IntArrayRef(o.shape))
      throw Error(ErrorKind::Shape, "output " + std::to_string(i + 1) + " (" + output_names_[i] + ") of model '" +
                                        path_ + "' has shape " + shape_text(r.sizes()) +
                                        " but the output array has " + shape_text(o.shape));
    if (r.is_cpu() && r.is_contiguous() && r.scalar_type() == scalar_type(o.dtype) && o.contiguous()) {
      std::memcpy(o.data, r.data_ptr(), static_cast<std::size_t>(r.numel()) * dtype_size(o.dtype));
    } else {
      wrap(o, at::kCPU).copy_(r);
    }
  }
}

std::vector<OwnedTensor> TorchBackend::forward(const std::vector<TensorView>& inputs) {
  c10::InferenceMode guard;
  std::vector<OwnedTensor> out;
  for (const at::Tensor& r0 : run(inputs)) {
    at::Tensor r = r0.to(at::kCPU).contiguous();
    OwnedTensor t;
    if (r.scalar_type() == at::kFloat)
      t.dtype = DType::Float32;
    else if (r.scalar_type() == at::kDouble)
      t.dtype = DType::Float64;
    else
      throw Error(ErrorKind::Dtype, "model '" + path_ + "' returned a " + std::string(c10::toString(r.scalar_type())) +
                                        " tensor; elmai passes float32 and float64 only");
    t.shape.assign(r.sizes().begin(), r.sizes().end());
    t.bytes.resize(static_cast<std::size_t>(r.numel()) * dtype_size(t.dtype));
    std::memcpy(t.bytes.data(), r.data_ptr(), t.bytes.size());
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace elmai::detail

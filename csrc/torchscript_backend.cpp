// TorchScript backend of the model runner (libtorch from the pip torch wheel).
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <sys/stat.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <cstring>

#include "elmai/error.hpp"
#include "elmai/model_runner.hpp"

namespace elmai {
namespace {

std::string shape_text(c10::IntArrayRef s) {
  std::string t = "[";
  for (std::size_t k = 0; k < s.size(); ++k) t += (k ? ", " : "") + std::to_string(s[k]);
  return t + "]";
}

at::ScalarType scalar_type(DType t) { return t == DType::Float32 ? at::kFloat : at::kDouble; }

// Torch errors carry a C++ backtrace or the TorchScript interpreter's traceback; the
// cause is on the last line ("RuntimeError: mat1 and mat2 shapes cannot be multiplied").
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

class TorchScriptBackend final : public ModelBackend {
 public:
  TorchScriptBackend(const std::string& path, const ModelOptions& opt)
      : path_(path), device_name_(opt.device), warmup_(opt.warmup) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      throw Error(ErrorKind::File, "model file '" + path + "' does not exist or is not a file");
    try {
      device_ = torch::Device(opt.device);
    } catch (const c10::Error&) {
      throw Error(ErrorKind::Argument, "unknown device '" + opt.device + "' (use cpu, cuda or cuda:N)");
    }
    if (device_.is_cuda() && !torch::cuda::is_available())
      throw Error(ErrorKind::Argument, "device '" + opt.device + "' requested for model '" + path +
                                           "' but no CUDA device is available to this build of libtorch");
    if (opt.threads > 0) set_num_threads(opt.threads);
    try {
      module_ = torch::jit::load(path, device_);
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::Format, "cannot load '" + path + "' as a TorchScript model: " + torch_message(e));
    } catch (const std::exception& e) {
      throw Error(ErrorKind::Format, "cannot load '" + path + "' as a TorchScript model: " + last_line(e.what()));
    }
    module_.eval();
    const auto& args = module_.get_method("forward").function().getSchema().arguments();
    for (std::size_t i = 1; i < args.size(); ++i) input_names_.push_back(args[i].name());  // [0] is self
  }

  const std::string& path() const override { return path_; }
  const std::string& device() const override { return device_name_; }
  const std::vector<std::string>& input_names() const override { return input_names_; }
  std::vector<std::string> output_names() const override { return output_names_; }

  void forward(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) override {
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

  std::vector<OwnedTensor> forward(const std::vector<TensorView>& inputs) override {
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

 private:
  at::Tensor wrap(const TensorView& v, c10::Device device) const {
    auto options = at::TensorOptions().dtype(scalar_type(v.dtype)).device(at::kCPU);
    at::Tensor t = v.strides.empty() ? at::from_blob(v.data, v.shape, options)
                                     : at::from_blob(v.data, v.shape, v.strides, options);
    return device.is_cpu() ? t : t.to(device);
  }

  std::vector<at::Tensor> run(const std::vector<TensorView>& inputs) {
    if (inputs.size() != input_names_.size()) {
      std::string names;
      for (const auto& n : input_names_) names += (names.empty() ? "" : ", ") + n;
      throw Error(ErrorKind::Argument, "model '" + path_ + "' takes " + std::to_string(input_names_.size()) +
                                           " inputs (" + names + ") but " + std::to_string(inputs.size()) +
                                           " were given");
    }
    args_.clear();  // reused: no allocation per call at small batch
    for (const auto& v : inputs) args_.emplace_back(wrap(v, device_));
    c10::IValue out;
    try {
      // TorchScript's profiling executor optimises after a few calls: do them up front.
      for (; warmup_ > 0; --warmup_) module_.forward(args_);
      out = module_.forward(args_);
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::Value, "model '" + path_ + "' failed: " + torch_message(e));
    } catch (const std::exception& e) {  // the TorchScript interpreter throws std::runtime_error
      throw Error(ErrorKind::Value, "model '" + path_ + "' failed: " + last_line(e.what()));
    }
    std::vector<at::Tensor> results;
    std::vector<std::string> names;
    auto add = [&](const c10::IValue& v, std::string name) {
      if (!v.isTensor())
        throw Error(ErrorKind::Dtype, "model '" + path_ + "' returned a " + v.tagKind() + " where a tensor was expected");
      results.push_back(v.toTensor());
      names.push_back(std::move(name));
    };
    if (out.isTensor()) {
      add(out, "output0");
    } else if (out.isTuple() || out.isList()) {
      const auto elems = out.isTuple() ? out.toTupleRef().elements().vec() : out.toList().vec();
      for (std::size_t i = 0; i < elems.size(); ++i) add(elems[i], "output" + std::to_string(i));
    } else if (out.isGenericDict()) {
      for (const auto& kv : out.toGenericDict()) add(kv.value(), kv.key().isString() ? kv.key().toStringRef() : "?");
    } else {
      throw Error(ErrorKind::Dtype, "model '" + path_ + "' returned a " + out.tagKind() +
                                        "; elmai expects a tensor, a tuple/list of tensors or a dict of tensors");
    }
    output_names_ = std::move(names);
    return results;
  }

  std::string path_, device_name_;
  int warmup_ = 0;
  std::vector<c10::IValue> args_;
  torch::Device device_ = torch::kCPU;
  torch::jit::Module module_;
  std::vector<std::string> input_names_, output_names_;
};

}  // namespace

std::size_t dtype_size(DType t) { return t == DType::Float32 ? 4 : 8; }
const char* dtype_name(DType t) { return t == DType::Float32 ? "float32" : "float64"; }

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

bool TensorView::contiguous() const {
  if (strides.empty()) return true;
  std::int64_t expect = 1;
  for (std::size_t k = shape.size(); k-- > 0;) {
    if (shape[k] != 1 && strides[k] != expect) return false;
    expect *= shape[k];
  }
  return true;
}

std::unique_ptr<ModelBackend> load_model(const std::string& path, const ModelOptions& options) {
  try {
    return std::make_unique<TorchScriptBackend>(path, options);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Internal, "loading '" + path + "': " + torch_message(e));
  }
}

void set_num_threads(int n) {
  if (n < 1) throw Error(ErrorKind::Argument, "thread count must be >= 1, not " + std::to_string(n));
  at::set_num_threads(n);
}

int get_num_threads() { return at::get_num_threads(); }

}  // namespace elmai

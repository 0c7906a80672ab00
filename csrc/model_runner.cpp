// Backend choice and the guards every backend runs under: one lock per model (forward
// keeps per-model state: reused argument vectors, warm-up count, output names) and a
// masked floating-point environment (a host with FPE traps on survives libtorch's
// internal NaN/Inf), for load and forward alike.
#include <ATen/Parallel.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "elmai/error.hpp"
#include "elmai/fpe_guard.hpp"
#include "elmai/model_runner.hpp"

namespace elmai {

std::unique_ptr<ModelBackend> load_torchscript(const std::string& path, const ModelOptions& options);
std::unique_ptr<ModelBackend> load_aoti(const std::string& path, const ModelOptions& options);

namespace {

// The thread count last set through elmai (0: never). libtorch's setting is per OS thread
// under OpenMP, so a forward on another thread (Python's thread pool, an OpenMP host)
// applies it to its own thread first: the count is process-wide as documented.
std::atomic<int> requested_threads{0};

void apply_threads() {
  const int n = requested_threads.load();
  if (n > 0 && at::get_num_threads() != n) at::set_num_threads(n);
}

class GuardedBackend final : public ModelBackend {
 public:
  explicit GuardedBackend(std::unique_ptr<ModelBackend> inner, ModelFormat format)
      : inner_(std::move(inner)), format_(format) {}
  ~GuardedBackend() override {
    FpeGuard fpe;
    inner_.reset();
  }
  const std::string& path() const override { return inner_->path(); }
  const std::string& device() const override { return inner_->device(); }
  const std::vector<std::string>& input_names() const override { return inner_->input_names(); }
  std::vector<std::string> output_names() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return inner_->output_names();
  }
  ModelFormat format() const override { return format_; }
  void forward(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) override {
    std::lock_guard<std::mutex> lock(mutex_);
    FpeGuard fpe;
    apply_threads();
    inner_->forward(inputs, outputs);
  }
  std::vector<OwnedTensor> forward(const std::vector<TensorView>& inputs) override {
    std::lock_guard<std::mutex> lock(mutex_);
    FpeGuard fpe;
    apply_threads();
    return inner_->forward(inputs);
  }

 private:
  std::unique_ptr<ModelBackend> inner_;
  ModelFormat format_;
  mutable std::mutex mutex_;
};

}  // namespace

const char* format_name(ModelFormat f) { return f == ModelFormat::Pt2 ? "pt2" : "torchscript"; }

ModelFormat model_format(const std::string& path) {
  // A .pt2 package and a TorchScript archive are both zip files: the extension decides,
  // then the package layout (AOTInductor packages hold <name>/data/aotinductor/...).
  auto ends_with = [&](const char* ext) {
    const std::size_t n = std::strlen(ext);
    return path.size() >= n && path.compare(path.size() - n, n, ext) == 0;
  };
  if (ends_with(".pt2")) return ModelFormat::Pt2;
  if (ends_with(".pt") || ends_with(".pth") || ends_with(".ts") || ends_with(".torchscript"))
    return ModelFormat::TorchScript;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return ModelFormat::TorchScript;  // the loader reports the missing file
  std::string head(1 << 16, '\0');
  head.resize(std::fread(head.data(), 1, head.size(), f));
  std::fclose(f);
  if (head.compare(0, 4, "PK\x03\x04") == 0 && head.find("/data/aotinductor/") != std::string::npos)
    return ModelFormat::Pt2;
  return ModelFormat::TorchScript;
}

std::unique_ptr<ModelBackend> load_model(const std::string& path, const ModelOptions& options) {
  FpeGuard fpe;
  const ModelFormat format = model_format(path);
  std::unique_ptr<ModelBackend> inner =
      format == ModelFormat::Pt2 ? load_aoti(path, options) : load_torchscript(path, options);
  return std::make_unique<GuardedBackend>(std::move(inner), format);
}

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

void set_num_threads(int n) {
  if (n < 1) throw Error(ErrorKind::Argument, "thread count must be >= 1, not " + std::to_string(n));
  FpeGuard fpe;
  requested_threads.store(n);
  at::set_num_threads(n);
}

int get_num_threads() { return at::get_num_threads(); }

}  // namespace elmai

// Model inference behind a small backend interface (load / forward / free): TorchScript
// (.pt) and torch.export / AOTInductor packages (.pt2), chosen from the file.
// Tensors cross the interface as non-owning views of the caller's memory: Fortran
// arrays and numpy arrays are used in place, never copied on the way in.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace elmai {

enum class DType : int { Float32 = 0, Float64 = 1 };
enum class ModelFormat : int { TorchScript = 0, Pt2 = 1 };
const char* format_name(ModelFormat f);
// The format of a model file: the extension (.pt2 / .pt), else the zip's layout.
ModelFormat model_format(const std::string& path);
std::size_t dtype_size(DType t);
const char* dtype_name(DType t);

// A view of caller-owned memory. strides are in elements; empty = C-contiguous.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::Float32;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;
  std::int64_t numel() const;
  bool contiguous() const;  // C order, no gaps
};

struct ModelOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:1"
  int threads = 0;             // intra-op threads; 0 = leave the runtime's default
  int warmup = 1;              // forward passes on zeros at load (needs input shapes)
};

// Owned output of a forward pass (for callers that do not preallocate, e.g. Python).
struct OwnedTensor {
  DType dtype = DType::Float32;
  std::vector<std::int64_t> shape;
  std::vector<unsigned char> bytes;
};

// A loaded model. Backends returned by load_model() are safe to share between threads:
// forward() calls on one model are serialised by a per-model lock (different models run
// concurrently), and load and forward run with floating-point traps masked.
class ModelBackend {
 public:
  virtual ~ModelBackend() = default;
  virtual ModelFormat format() const { return ModelFormat::TorchScript; }
  virtual const std::string& path() const = 0;
  virtual const std::string& device() const = 0;
  // Argument names of forward() (without self), in order.
  virtual const std::vector<std::string>& input_names() const = 0;
  // Output names when the model returns a dict, else "output0", "output1", ...
  // (known after the first forward).
  virtual std::vector<std::string> output_names() const = 0;
  // Runs the model and writes each result into the matching caller view (shape must
  // match; dtype is converted). Throws elmai::Error on any failure.
  virtual void forward(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) = 0;
  // Runs the model and returns the results as owned tensors.
  virtual std::vector<OwnedTensor> forward(const std::vector<TensorView>& inputs) = 0;
};

// Loads a model file; the backend is chosen from the file (model_format).
std::unique_ptr<ModelBackend> load_model(const std::string& path, const ModelOptions& options);

// Sets the intra-op thread count of the inference runtime (process-wide).
void set_num_threads(int n);
int get_num_threads();

}  // namespace elmai

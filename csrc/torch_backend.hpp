// Internal: what the libtorch-based backends (TorchScript, AOTInductor .pt2) share:
// wrapping caller memory as tensors, checking inputs, writing results into caller
// views or owned buffers, and turning torch's errors into one-line messages.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <string>
#include <vector>

#include "elmai/error.hpp"
#include "elmai/model_runner.hpp"

namespace elmai::detail {

std::string shape_text(c10::IntArrayRef s);
at::ScalarType scalar_type(DType t);
// Torch errors carry a C++ backtrace or the TorchScript interpreter's traceback; the
// cause is on the last line ("RuntimeError: mat1 and mat2 shapes cannot be multiplied").
std::string last_line(const std::string& msg);
std::string torch_message(const c10::Error& e);
// Throws File when `path` is not an existing regular file.
void require_file(const std::string& path);
// Parses a device name; throws Argument for an unknown or unavailable device.
c10::Device parse_device(const std::string& name, const std::string& path);

class TorchBackend : public ModelBackend {
 public:
  TorchBackend(const std::string& path, const ModelOptions& opt);
  const std::string& path() const override { return path_; }
  const std::string& device() const override { return device_name_; }
  const std::vector<std::string>& input_names() const override { return input_names_; }
  std::vector<std::string> output_names() const override { return output_names_; }
  void forward(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs) override;
  std::vector<OwnedTensor> forward(const std::vector<TensorView>& inputs) override;

 protected:
  // Runs the model on tensors already on device_; fills output_names_ when it learns them.
  virtual std::vector<at::Tensor> run_model(std::vector<at::Tensor>& args) = 0;
  at::Tensor wrap(const TensorView& v, c10::Device device) const;

  std::string path_, device_name_;
  int warmup_ = 0;
  c10::Device device_ = c10::kCPU;
  std::vector<std::string> input_names_, output_names_;

 private:
  std::vector<at::Tensor> run(const std::vector<TensorView>& inputs);
  std::vector<at::Tensor> args_;
};

}  // namespace elmai::detail

// torch.export / AOTInductor backend: loads a .pt2 package (compiled kernels in a
// shared library inside a zip) with torch::inductor::AOTIModelPackageLoader.
//
// The compiled code checks little about its inputs, so the package carries elmai's own
// description of them in its metadata (written by `elmai export --format pt2`):
//   elmai_input_names   "forcing,pools"
//   elmai_input_dtypes  "float32,float32"
//   elmai_input_shapes  "-1x12;-1x30"   (-1: dynamic, e.g. the batch)
//   elmai_output_names  "soil,total"
// and every forward is checked against it before any kernel runs.
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <sstream>

#include "torch_backend.hpp"

namespace elmai {
namespace {

using namespace detail;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

class AotiBackend final : public TorchBackend {
 public:
  AotiBackend(const std::string& path, const ModelOptions& opt) : TorchBackend(path, opt) {
    std::unordered_map<std::string, std::string> meta;
    try {
      // the model name inside the package is its first folder; "model" is what
      // aoti_compile_and_package writes unless told otherwise
      loader_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(
          path, "model", /*run_single_threaded=*/false, /*num_runners=*/1,
          device_.is_cuda() ? device_.index() : static_cast<c10::DeviceIndex>(-1));
      meta = loader_->get_metadata();
    } catch (const c10::Error& e) {
      throw Error(ErrorKind::Format, "cannot load '" + path + "' as an AOTInductor (.pt2) package: " + torch_message(e));
    } catch (const std::exception& e) {
      throw Error(ErrorKind::Format, "cannot load '" + path + "' as an AOTInductor (.pt2) package: " +
                                         last_line(e.what()));
    }
    const std::string built_for = meta.count("AOTI_DEVICE_KEY") ? meta["AOTI_DEVICE_KEY"] : "cpu";
    if ((built_for == "cpu") != device_.is_cpu())
      throw Error(ErrorKind::Argument, "model '" + path + "' was compiled for device '" + built_for +
                                           "' but device '" + opt.device + "' was requested; a .pt2 package runs "
                                           "only on the device type it was exported for (re-export it)");
    if (!meta.count("elmai_input_names"))
      throw Error(ErrorKind::Format, "'" + path + "' is a .pt2 package without elmai's input description "
                                                  "(metadata elmai_input_names); export it with "
                                                  "`elmai export --format pt2`");
    input_names_ = split(meta["elmai_input_names"], ',');
    output_names_ = split(meta["elmai_output_names"], ',');
    for (const auto& d : split(meta["elmai_input_dtypes"], ','))
      dtypes_.push_back(d == "float64" ? at::kDouble : at::kFloat);
    for (const auto& s : split(meta["elmai_input_shapes"], ';')) {
      std::vector<std::int64_t> dims;
      for (const auto& d : split(s, 'x')) dims.push_back(std::stoll(d));
      shapes_.push_back(std::move(dims));
    }
    if (dtypes_.size() != input_names_.size() || shapes_.size() != input_names_.size())
      throw Error(ErrorKind::Format, "'" + path + "': inconsistent elmai input metadata");
  }

 protected:
  std::vector<at::Tensor> run_model(std::vector<at::Tensor>& args) override {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const at::Tensor& a = args[i];
      const std::string which = "input " + std::to_string(i + 1) + " (" + input_names_[i] + ") of model '" + path_ + "'";
      if (a.scalar_type() != dtypes_[i])
        throw Error(ErrorKind::Dtype, which + " must be " + (dtypes_[i] == at::kDouble ? "float64" : "float32") +
                                          ", not " + (a.scalar_type() == at::kDouble ? "float64" : "float32") +
                                          " (a .pt2 package is compiled for one dtype)");
      const auto& want = shapes_[i];
      bool ok = static_cast<std::size_t>(a.dim()) == want.size();
      for (std::size_t k = 0; ok && k < want.size(); ++k) ok = want[k] < 0 || want[k] == a.size(k);
      if (!ok) {
        std::string text = "[";
        for (std::size_t k = 0; k < want.size(); ++k)
          text += (k ? ", " : "") + (want[k] < 0 ? std::string("*") : std::to_string(want[k]));
        throw Error(ErrorKind::Shape, which + " has shape " + shape_text(a.sizes()) + " but the model takes " +
                                          text + "]");
      }
      // the compiled kernels index memory directly: give them dense tensors
      if (!a.is_contiguous()) args[i] = a.contiguous();
    }
    std::vector<at::Tensor> out = loader_->run(args);
    if (output_names_.size() != out.size()) {
      output_names_.clear();
      for (std::size_t i = 0; i < out.size(); ++i) output_names_.push_back("output" + std::to_string(i));
    }
    return out;
  }

 private:
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
  std::vector<at::ScalarType> dtypes_;
  std::vector<std::vector<std::int64_t>> shapes_;
};

}  // namespace

std::unique_ptr<ModelBackend> load_aoti(const std::string& path, const ModelOptions& options) {
  try {
    return std::make_unique<AotiBackend>(path, options);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Internal, "loading '" + path + "': " + torch_message(e));
  }
}

}  // namespace elmai

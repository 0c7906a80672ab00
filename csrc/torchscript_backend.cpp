// TorchScript backend of the model runner (libtorch from the pip torch wheel).
#include <torch/script.h>

#include "torch_backend.hpp"

namespace elmai {
namespace {

using namespace detail;

class TorchScriptBackend final : public TorchBackend {
 public:
  TorchScriptBackend(const std::string& path, const ModelOptions& opt) : TorchBackend(path, opt) {
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

 protected:
  std::vector<at::Tensor> run_model(std::vector<at::Tensor>& tensors) override {
    ivalues_.assign(tensors.begin(), tensors.end());
    // TorchScript's profiling executor optimises after a few calls: do them up front.
    for (; warmup_ > 0; --warmup_) module_.forward(ivalues_);
    const c10::IValue out = module_.forward(ivalues_);
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

 private:
  std::vector<c10::IValue> ivalues_;
  torch::jit::Module module_;
};

}  // namespace

std::unique_ptr<ModelBackend> load_torchscript(const std::string& path, const ModelOptions& options) {
  try {
    return std::make_unique<TorchScriptBackend>(path, options);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Internal, "loading '" + path + "': " + torch_message(e));
  }
}

}  // namespace elmai

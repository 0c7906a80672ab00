// Bare libtorch forward vs elmai's C ABI path (tensor views + forward + status), same
// TorchScript model, same thread count. Usage: forward_bare_vs_capi MODEL NTHREADS BATCH...
// Prints "bare BATCH US" and "capi BATCH US": best of 5 runs, microseconds per forward
// (the minimum is the figure least disturbed by other work on a shared machine).
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <elmai.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

template <typename F>
double best_us(F&& fn, int iters) {
  std::vector<double> runs;
  for (int r = 0; r < 5; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) fn();
    runs.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / iters);
  }
  return *std::min_element(runs.begin(), runs.end());
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  const int nthreads = std::atoi(argv[2]);
  at::set_num_threads(nthreads);
  torch::jit::Module module = torch::jit::load(argv[1]);
  module.eval();
  elmai_model* model = nullptr;
  if (elmai_model_load(argv[1], "cpu", nthreads, &model) != ELMAI_OK) {
    std::fprintf(stderr, "%s\n", elmai_last_error());
    return 1;
  }
  for (int a = 3; a < argc; ++a) {
    const int64_t batch = std::atoll(argv[a]);
    const int iters = static_cast<int>(std::min<int64_t>(20000, std::max<int64_t>(5, 200000 / (batch + 10))));
    std::vector<float> x(batch * 5, 0.5f), y(batch * 3);
    {
      c10::InferenceMode guard;
      std::vector<c10::IValue> in{torch::from_blob(x.data(), {batch, 5})};
      for (int i = 0; i < 20; ++i) module.forward(in);
      double us = best_us([&] { auto out = module.forward(in).toTensor(); }, iters);
      std::printf("bare %lld %.3f\n", static_cast<long long>(batch), us);
    }
    elmai_tensor *tin = nullptr, *tout = nullptr;
    int64_t sin[2] = {batch, 5}, sout[2] = {batch, 3};
    elmai_tensor_create(x.data(), ELMAI_FLOAT32, 2, sin, nullptr, &tin);
    elmai_tensor_create(y.data(), ELMAI_FLOAT32, 2, sout, nullptr, &tout);
    int status = 0;
    for (int i = 0; i < 20; ++i) status |= elmai_model_forward(model, &tin, 1, &tout, 1);
    double us = best_us([&] { status |= elmai_model_forward(model, &tin, 1, &tout, 1); }, iters);
    if (status != ELMAI_OK) {
      std::fprintf(stderr, "%s\n", elmai_last_error());
      return 1;
    }
    std::printf("capi %lld %.3f\n", static_cast<long long>(batch), us);
    elmai_tensor_free(tin);
    elmai_tensor_free(tout);
  }
  elmai_model_free(model);
  return 0;
}

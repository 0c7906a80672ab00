// Floating-point trap guard. ELM and other Fortran hosts often run with traps on
// (gfortran -ffpe-trap=invalid,zero,overflow, or feenableexcept): any NaN, division by
// zero or overflow then kills the process with SIGFPE. Vectorised math in libtorch
// raises those flags routinely on values a model later discards (torch.where over log
// or exp), so every load and forward runs with all traps masked and the host's
// floating-point environment (traps and flags) restored afterwards.
//
// Saving and restoring the whole environment costs ~0.25 us (x87 fnstenv/fldenv), a
// quarter of the 1 us budget of a batch-1 forward; so on x86 the guard first reads the
// two control registers (a few ns) and does nothing when no trap is enabled, as for
// most hosts. Elsewhere it always saves and restores.
#pragma once

#include <cfenv>

namespace elmai {

// True when any floating-point trap is enabled on this thread (x87 or SSE on x86).
inline bool fp_traps_enabled() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned short cw = 0;
  unsigned int mxcsr = 0;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  return ((~cw) & 0x3fu) != 0 || ((~(mxcsr >> 7)) & 0x3fu) != 0;  // a clear mask bit = a trap
#else
  return true;
#endif
}

class FpeGuard {
 public:
  FpeGuard() : active_(fp_traps_enabled()) {
    if (active_) ::feholdexcept(&saved_);  // saves the environment, clears flags, masks traps
  }
  ~FpeGuard() {
    if (active_) ::fesetenv(&saved_);  // restores traps and flags as the host had them
  }
  FpeGuard(const FpeGuard&) = delete;
  FpeGuard& operator=(const FpeGuard&) = delete;

 private:
  bool active_;
  std::fenv_t saved_{};
};

}  // namespace elmai

// ELM's per-column mass balance check (EcosystemBalanceCheckMod):
//   err = (sum(inputs) - sum(outputs)) * dt - (end - begin)
// for C, N, P (tolerance 1e-7 g/m2) and water (warn 1e-7 mm, fail 1e-4 mm). One pass
// over the term arrays; failures are rare, so they are collected after the fact.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace elmai {

// Non-owning column arrays, all of length ncol. Term arrays are fluxes per second.
struct BalanceTerms {
  std::int64_t ncol = 0;
  const double* begin = nullptr;
  const double* end = nullptr;
  std::vector<const double*> inputs, outputs;
};

struct BalanceColumn {
  std::int64_t column = 0;  // 0-based
  double error = 0.0;       // err as above, g/m2 (or mm)
  bool fail = false;        // |err| > fail tolerance (else only above the warn tolerance)
};

struct BalanceSummary {
  std::vector<BalanceColumn> columns;  // every column above the warn tolerance, in order
  std::int64_t nfail = 0, nwarn = 0;
  double max_abs_error = 0.0;
  std::int64_t max_column = -1;
};

// warn_tolerance <= fail_tolerance; pass the same value for C/N/P (ELM: 1e-7).
// threads: 1 (what ELM's ranks want: they already fill the cores), or 0 = one per core
// for arrays large enough to gain from it, or an explicit count.
BalanceSummary check_balance(const BalanceTerms& terms, double dt, double fail_tolerance, double warn_tolerance,
                             int threads = 1);

// Raw errors for every column (no thresholds), e.g. for plotting or parity tests.
void balance_errors(const BalanceTerms& terms, double dt, double* err_out, int threads = 1);

}  // namespace elmai

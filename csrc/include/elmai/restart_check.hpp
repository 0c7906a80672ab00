// Static validation of an ELM restart before an expensive run: every value finite,
// pools non-negative, fixed soil stoichiometry, plant stoichiometry within PFT bounds,
// column totals equal to their pools, subgrid weights summing to 1, pools zero where a
// PFT is absent, spinup_state consistent with the pools. Fill values (ELM's spval,
// 1e36) are recognised and never flagged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace elmai {

struct CheckOptions {
  double rtol = 1e-6;                  // ratios, totals
  double negative_tolerance = 1e-10;   // pools below -this are negative
  double weight_tolerance = 1e-6;      // |sum of weights - 1|
  double stoichiometry_factor = 2.0;   // plant C:N, C:P within [param/f, param*f]
  std::vector<double> soil_cn;         // soil1..soil4 (ELM cn_s1..cn_s4)
  std::vector<double> soil_cp;         // empty: each pool's C:P must be uniform (median)
  std::map<std::string, std::vector<double>> pft_params;  // leafcn, frootcn, ... by PFT type
  std::vector<double> dzsoi_decomp;    // BGC layer thicknesses (m)
  double normal_passive_fraction = 0.3;  // AD files whose soil4 share exceeds this are flagged
  int max_per_rule = 50;               // failures kept per rule (all are counted)
};

struct CheckFailure {
  std::string rule, variable, where;  // where: "column=12, levgrnd=3"
  std::int64_t index = -1;            // flat index into the variable
  std::int64_t gridcell = -1;         // 0-based, -1 when not tied to a gridcell
  double lat = 0, lon = 0;
  double value = 0, expected = 0;
  std::string message;
};

struct CheckReport {
  std::string path;
  std::vector<CheckFailure> failures;         // up to max_per_rule per rule
  std::map<std::string, std::int64_t> counts;  // every failure, by rule
  std::vector<std::string> rules_run;
  std::map<std::string, std::string> rules_skipped;  // rule -> why
  bool ok() const;
};

CheckReport check_restart(const std::string& path, const CheckOptions& options);

}  // namespace elmai

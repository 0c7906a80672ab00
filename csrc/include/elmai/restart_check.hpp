// Static validation of an ELM restart before an expensive run: every value finite (NaN
// allowed only in the named diagnostics ELM itself leaves NaN), pools non-negative (but
// the signed ones, xsmrpool), fixed soil C:N, floating soil C:P near its initial value (a
// warning: ELM bounds it nowhere), plant stoichiometry within PFT bounds, ELM's pft and
// column totals equal to their terms on the columns ELM's summaries cover (its soil
// filter), subgrid weights summing to 1, pools zero where a PFT is absent (but ELM's
// cold-start seeds), spinup_state 0 or 1 and an AD file's scalaravg_col valid (0 before AD
// year 20 is ELM's own and only warns: such a file cannot leave AD yet). Fill values
// (ELM's spval, 1e36) are recognised and never flagged. The ELM vocabulary (which totals,
// their terms, the seeds, the NaN diagnostics, the soil filter) comes from the caller
// (elmai.io.elm_names).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace elmai {

struct TotalSpec {
  std::string name;                    // e.g. totvegc (pft) or totcolc (column)
  std::vector<std::string> terms;      // all must be in the file for the total to be checked
  std::vector<std::string> optional;   // added where present (crop terms)
};

struct CheckOptions {
  double rtol = 1e-6;                  // ratios, totals
  double negative_tolerance = 1e-10;   // pools below -this are negative
  double weight_tolerance = 1e-6;      // |sum of weights - 1|
  double stoichiometry_factor = 2.0;   // plant C:N, C:P within [param/f, param*f]
  // ELM's structure (elmai.io.elm_structure): the decomposing pools (<pool><e>_vr), the
  // soil organic pools among them (the passive one last), the PFT tissues (<tissue><e>)
  // and each tissue's C:N and C:P parameter (leafcn, livewdcp, ...)
  std::vector<std::string> decomp_pools, soil_pools, tissues, tissue_cn_params, tissue_cp_params;
  std::vector<double> soil_cn;         // per soil pool (ELM cn_s1..cn_s4)
  std::vector<double> soil_cp;         // initial C:P per soil pool (cn_s x np_s_new); floats within
                                       // [cp/f, cp*f], f = stoichiometry_factor (empty: median)
  std::map<std::string, std::vector<double>> pft_params;  // leafcn, frootcn, ... by PFT type
  std::vector<double> dzsoi_decomp;    // BGC layer thicknesses (m)
  // Landunit types (cols1d_ityplun) of ELM's soil filter (filterMod: is_soil or is_crop):
  // the columns and pfts whose totals ELM's summaries recompute. Empty: every column.
  std::vector<int> soil_filter_landunits;
  int max_per_rule = 50;               // failures kept per rule (all are counted)
  std::vector<std::string> nan_allowed;    // variables where NaN is ELM's (diagnostics)
  std::vector<std::string> signed_pools;   // pools never flagged negative (xsmrpool)
  std::vector<TotalSpec> totals;           // ELM's summaries
  std::map<std::string, std::vector<double>> seed_carbon;  // C pool -> seeds on zero-weight pfts
  std::map<std::string, std::pair<std::string, std::string>> seed_nutrients;  // N/P pool -> (C pool, param)
  std::vector<std::string> deadwood;       // pools scaled by spinup_mortality_factor at AD exit (deadstemc, ...)
  double spinup_mortality_factor = 1.0;
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
  std::map<std::string, std::string> notes;          // rule -> what it covered
  // Findings that do not fail the file (ELM runs on them): up to max_per_rule per rule
  std::vector<CheckFailure> warnings;
  std::map<std::string, std::int64_t> warning_counts;
  bool ok() const;
};

CheckReport check_restart(const std::string& path, const CheckOptions& options);

}  // namespace elmai

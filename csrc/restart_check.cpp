#include "elmai/restart_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cfloat>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <functional>
#include <thread>
#include <set>

#include "elmai/classic_layout.hpp"
#include "elmai/error.hpp"
#include "elmai/netcdf_util.hpp"
#include "elmai/restart_file.hpp"

namespace elmai {
namespace {

constexpr double kFill = 1e35;  // ELM's spval is 1e36: anything this large is fill

bool is_fill(double v) { return std::fabs(v) >= kFill; }

// Branch-free scans in double arithmetic (baseline x86-64 has no 64-bit integer compare
// to vectorise an exponent-bit test); the detailed, reporting loops run only when these
// find something, which on a healthy restart is never.
bool any_nonfinite(const double* p, std::size_t n) {
  long bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += !(std::fabs(p[i]) <= DBL_MAX);  // NaN and Inf fail
  return bad != 0;
}

bool any_negative(const double* p, std::size_t n, double tol) {
  double lowest = 0.0;  // most negative value that is not fill
  for (std::size_t i = 0; i < n; ++i) {
    const double x = p[i] > -kFill ? p[i] : 0.0;
    lowest = x < lowest ? x : lowest;
  }
  return lowest < -tol;
}

// True when some non-fill, nonzero value sits where mask is 1.
bool any_present_where(const double* p, const double* mask, std::size_t n) {
  long bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += (p[i] != 0.0) & (std::fabs(p[i]) < kFill) & (mask[i] != 0.0);
  return bad != 0;
}

// Finite test on the file's own big-endian bytes (classic formats), no netCDF copy or
// conversion: a double is NaN/Inf when its 11 exponent bits are all set, i.e. byte 0 has
// 0x7F and byte 1 has 0xF0; a float when byte 0 has 0x7F and byte 1 has 0x80.
struct RawRange {
  std::uint64_t offset, bytes;
};
struct RawVariable {
  std::string name;
  int size = 8;
  std::vector<RawRange> ranges;
};

bool raw_has_nonfinite(const unsigned char* p, std::size_t n, int size) {
  int bad = 0;
  if (size == 8) {
    for (std::size_t i = 0; i + 8 <= n; i += 8) bad |= ((p[i] & 0x7F) == 0x7F) & ((p[i + 1] & 0xF0) == 0xF0);
  } else {
    for (std::size_t i = 0; i + 4 <= n; i += 4) bad |= ((p[i] & 0x7F) == 0x7F) & ((p[i + 1] & 0x80) == 0x80);
  }
  return bad != 0;
}

// Scans variables' bytes with pread in `threads` threads; returns the ones that hold a
// non-finite value (the caller reports their cells through netcdf-c).
std::vector<std::string> raw_nonfinite(const std::string& path, const std::vector<RawVariable>& vars, int threads) {
  std::vector<std::vector<std::string>> found(static_cast<std::size_t>(threads));
  std::vector<std::string> errors(static_cast<std::size_t>(threads));
  auto work = [&](int t) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      errors[t] = "cannot open '" + path + "'";
      return;
    }
    std::vector<unsigned char> buf(1 << 20);  // a multiple of 8: chunks never split a value
    for (std::size_t v = static_cast<std::size_t>(t); v < vars.size(); v += static_cast<std::size_t>(threads)) {
      bool bad = false;
      for (const auto& r : vars[v].ranges) {
        for (std::uint64_t done = 0; done < r.bytes && !bad;) {
          const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), r.bytes - done));
          const ssize_t got = ::pread(fd, buf.data(), want, static_cast<off_t>(r.offset + done));
          if (got <= 0) {
            errors[t] = "short read in '" + path + "' (variable '" + vars[v].name + "')";
            ::close(fd);
            return;
          }
          bad = raw_has_nonfinite(buf.data(), static_cast<std::size_t>(got), vars[v].size);
          done += static_cast<std::uint64_t>(got);
        }
      }
      if (bad) found[t].push_back(vars[v].name);
    }
    ::close(fd);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (const auto& e : errors)
    if (!e.empty()) throw Error(ErrorKind::Format, e);
  std::vector<std::string> out;
  for (auto& f : found) out.insert(out.end(), f.begin(), f.end());
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

class Checker {
 public:
  Checker(const std::string& path, const CheckOptions& opt)
      : f_(path),
        opt_(opt),
        nan_allowed_(opt.nan_allowed.begin(), opt.nan_allowed.end()),
        kept_(kept_names()) {
    report_.path = path;
  }

  CheckReport run() {
    load_subgrid();
    stream_pass();  // finite, non_negative, absent_pft_pools (candidates)
    run_rule("finite", [&] {});
    run_rule("non_negative", [&] {
      if (!saw_pool_) throw Skip{"no pool variables in the file"};
    });
    run_rule("soil_cn", [&] { soil_ratio("n", opt_.soil_cn, "soil_cn", false); });
    run_rule("soil_cp", [&] { soil_ratio("p", opt_.soil_cp, "soil_cp", true); });
    run_rule("plant_cn", [&] { plant_ratio("n", opt_.tissue_cn_params, "plant_cn"); });
    run_rule("plant_cp", [&] { plant_ratio("p", opt_.tissue_cp_params, "plant_cp"); });
    run_rule("totals", [&] { totals(); });
    run_rule("subgrid_weights", [&] { subgrid_weights(); });
    run_rule("absent_pft_pools", [&] { absent_pft_pools(); });
    run_rule("spinup_state", [&] { spinup_state(); });
    return std::move(report_);
  }

 private:
  struct Skip {
    std::string why;
  };

  void run_rule(const std::string& name, const std::function<void()>& body) {
    try {
      body();
      report_.rules_run.push_back(name);
      report_.counts.emplace(name, 0);
    } catch (const Skip& s) {
      report_.rules_skipped[name] = s.why;
    }
  }

  // Values the cross-variable rules need stay cached; everything else streams through a
  // reused scratch buffer (holding a whole restart in fresh memory costs more than
  // reading it: 0.35-0.64 s against 0.22 s for 765 MB here).
  bool kept(const std::string& name) const { return kept_.count(name) > 0; }
  std::set<std::string> kept_names() const {
    std::set<std::string> s = {"scalaravg_col", "spinup_state"};
    for (const auto& p : opt_.decomp_pools) s.insert(p + "c_vr");
    for (const auto& p : opt_.soil_pools)
      for (const char* e : {"n", "p"}) s.insert(p + e + "_vr");
    for (const auto& t : opt_.tissues) s.insert(t + "c");
    return s;
  }

  const std::vector<double>& read(const std::string& name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    std::vector<double>* target = &scratch_;
    if (kept(name)) target = &cache_[name];
    target->resize(f_.info(name).count());
    f_.read_as_double(name, target->data(), target->size());
    return *target;
  }
  std::vector<std::int64_t> read_index(const std::string& name) {  // 1-based in file -> 0-based
    std::vector<std::int64_t> out;
    for (double x : read(name)) out.push_back(x >= 1 && !is_fill(x) ? static_cast<std::int64_t>(x) - 1 : -1);
    return out;
  }
  bool has(const std::string& name) const { return f_.has_variable(name); }
  void need(std::initializer_list<const char*> names) const {
    for (const char* n : names)
      if (!has(n)) throw Skip{std::string("no '") + n + "' in the file"};
  }

  void load_subgrid() {
    if (has("grid1d_lat")) glat_ = read("grid1d_lat");
    if (has("grid1d_lon")) glon_ = read("grid1d_lon");
    if (has("cols1d_gridcell_index")) col_g_ = read_index("cols1d_gridcell_index");
    if (has("pfts1d_gridcell_index")) pft_g_ = read_index("pfts1d_gridcell_index");
    if (has("land1d_gridcell_index")) lun_g_ = read_index("land1d_gridcell_index");
    if (has("pfts1d_column_index")) pft_c_ = read_index("pfts1d_column_index");
    if (has("pfts1d_itypveg")) pft_type_ = read("pfts1d_itypveg");
    if (has("pfts1d_wtcol")) pft_wtcol_ = read("pfts1d_wtcol");
    if (has("cols1d_ityplun")) col_lun_type_ = read("cols1d_ityplun");
    if (has("pfts1d_active")) pft_active_ = read("pfts1d_active");
    if (has("cols1d_active")) col_active_ = read("cols1d_active");
  }

  std::int64_t gridcell_of(const VariableInfo& v, std::int64_t flat) const {
    if (v.dims.empty()) return -1;
    std::int64_t first = flat;
    for (std::size_t k = 1; k < v.shape.size(); ++k) first /= static_cast<std::int64_t>(v.shape[k]);
    const std::string& d = v.dims[0];
    auto pick = [&](const std::vector<std::int64_t>& map) {
      return first < static_cast<std::int64_t>(map.size()) ? map[first] : -1;
    };
    if (d == "gridcell") return first;
    if (d == "column") return pick(col_g_);
    if (d == "pft") return pick(pft_g_);
    if (d == "landunit") return pick(lun_g_);
    return -1;
  }

  void fail(const std::string& rule, const std::string& var, std::int64_t flat, double value, double expected,
            const std::string& message) {
    record(report_.counts, report_.failures, rule, var, flat, value, expected, message);
  }
  // A finding ELM itself would run on: reported, never fails the file.
  void warn(const std::string& rule, const std::string& var, std::int64_t flat, double value, double expected,
            const std::string& message) {
    record(report_.warning_counts, report_.warnings, rule, var, flat, value, expected, message);
  }
  void record(std::map<std::string, std::int64_t>& counts, std::vector<CheckFailure>& kept, const std::string& rule,
              const std::string& var, std::int64_t flat, double value, double expected, const std::string& message) {
    auto& n = counts[rule];
    ++n;
    if (n > opt_.max_per_rule) return;
    CheckFailure c;
    c.rule = rule;
    c.variable = var;
    c.index = flat;
    c.value = value;
    c.expected = expected;
    c.message = message;
    if (f_.has_variable(var)) {
      const VariableInfo& v = f_.info(var);
      std::int64_t rest = flat;
      std::vector<std::int64_t> idx(v.shape.size());
      for (std::size_t k = v.shape.size(); k-- > 0;) {
        idx[k] = rest % static_cast<std::int64_t>(v.shape[k]);
        rest /= static_cast<std::int64_t>(v.shape[k]);
      }
      for (std::size_t k = 0; k < idx.size(); ++k) c.where += (k ? ", " : "") + v.dims[k] + "=" + std::to_string(idx[k]);
      c.gridcell = gridcell_of(v, flat);
      if (c.gridcell >= 0 && c.gridcell < static_cast<std::int64_t>(glat_.size())) {
        c.lat = glat_[c.gridcell];
        c.lon = glon_.empty() ? 0.0 : glon_[c.gridcell];
      }
    }
    kept.push_back(std::move(c));
  }

  // -- rules ----------------------------------------------------------------------------
  std::set<std::string> pool_names() const {
    std::set<std::string> names;
    for (const auto& p : opt_.decomp_pools)
      for (const char* e : {"c", "n", "p"}) names.insert(p + e + "_vr");
    for (const auto& n : pft_pool_names()) names.insert(n);
    for (const char* t : {"totcolc", "totsomc", "totlitc", "totvegc", "cwdc", "totcoln", "totcolp", "tlai", "tsai"})
      names.insert(t);
    for (const auto& t : opt_.totals) names.insert(t.name);
    for (const auto& n : opt_.signed_pools) names.erase(n);
    return names;
  }

  std::set<std::string> pft_pool_names() const {
    std::set<std::string> names;
    for (const auto& p : opt_.tissues)
      for (const char* e : {"c", "n", "p"})
        for (const char* s : {"", "_storage", "_xfer"}) names.insert(p + e + s);
    names.insert("tlai");
    names.insert("tsai");
    return names;
  }

  // One pass over the file, each float variable read once in cache-sized blocks of rows:
  // the per-variable rules (finite, non_negative, absent_pft_pools candidates) run on a
  // block while it is still in cache. A second pass over a restart-sized buffer would cost
  // as much as reading it again.
  void stream_pass() {
    constexpr std::size_t kBlockValues = 32768;  // 256 KiB of doubles
    const auto pools = pool_names(), pft_pools = pft_pool_names();
    const bool have_pfts = !pft_type_.empty() && !pft_wtcol_.empty();
    absent_.assign(pft_type_.size(), 0);
    absent_mask_.assign(pft_type_.size(), 0.0);
    for (std::size_t i = 0; i < pft_type_.size() && i < pft_wtcol_.size(); ++i) {
      absent_[i] = !(pft_wtcol_[i] > 0) || pft_type_[i] == 0;
      absent_mask_[i] = absent_[i] ? 1.0 : 0.0;
    }
    // Variables only the finite rule needs are scanned on their raw bytes (classic files).
    std::set<std::string> raw_names;
    std::thread raw_scan;
    std::vector<std::string> raw_flagged;
    std::exception_ptr raw_error;
    struct Join {  // the scan thread is joined on every exit path
      std::thread& t;
      ~Join() {
        if (t.joinable()) t.join();
      }
    } join{raw_scan};
    const bool classic = f_.format() == FileFormat::Classic || f_.format() == FileFormat::Offset64 ||
                         f_.format() == FileFormat::Cdf5;
    if (classic) {
      const ClassicLayout layout = read_classic_layout(f_.path());
      std::vector<RawVariable> raw;
      for (const auto& cv : layout.vars) {
        const VariableInfo& v = f_.info(cv.name);
        if ((v.type != NC_DOUBLE && v.type != NC_FLOAT) || kept(v.name) || pools.count(v.name) ||
            pft_pools.count(v.name))
          continue;
        RawVariable r{v.name, v.type == NC_DOUBLE ? 8 : 4, {}};
        if (!cv.record)
          r.ranges.push_back({cv.begin, cv.bytes});
        else
          for (std::uint64_t k = 0; k < layout.numrecs; ++k) r.ranges.push_back({cv.begin + k * layout.recsize, cv.bytes});
        raw_names.insert(v.name);
        raw.push_back(std::move(r));
      }
      // One background thread scans them while this one reads the rest through netcdf-c
      // (which is not thread-safe, so it stays on this thread).
      raw_scan = std::thread([&, raw = std::move(raw)] {
        try {
          raw_flagged = raw_nonfinite(f_.path(), raw, 1);
        } catch (...) {
          raw_error = std::current_exception();
        }
      });
    }
    std::vector<double> block;
    for (const auto& v : f_.variables()) {
      if (v.type != NC_DOUBLE && v.type != NC_FLOAT) continue;
      if (raw_names.count(v.name)) continue;  // scanned raw
      const bool is_pool = pools.count(v.name) > 0;
      const bool is_pft_pool = have_pfts && pft_pools.count(v.name) > 0 && v.dims.size() == 1;
      saw_pool_ = saw_pool_ || is_pool;
      const std::size_t nrows = v.shape.empty() ? 1 : v.shape[0];
      const std::size_t row = nrows ? v.count() / nrows : 0;
      const std::size_t rows_per_block = std::max<std::size_t>(1, kBlockValues / std::max<std::size_t>(1, row));
      std::vector<double>* keep = nullptr;
      if (kept(v.name)) {
        keep = &cache_[v.name];
        keep->resize(v.count());
      }
      for (std::size_t r0 = 0; r0 < nrows; r0 += rows_per_block) {
        const std::size_t nr = std::min(rows_per_block, nrows - r0), n = nr * row;
        double* p;
        if (keep) {
          p = keep->data() + r0 * row;
        } else {
          block.resize(n);
          p = block.data();
        }
        f_.read_rows_as_double(v.name, r0, nr, p);
        scan_block(v.name, p, n, r0 * row, is_pool, is_pft_pool);
      }
    }
    if (raw_scan.joinable()) raw_scan.join();
    if (raw_error) std::rethrow_exception(raw_error);
    for (const auto& name : raw_flagged) {  // rare: find the cells through netcdf-c
      const VariableInfo& v = f_.info(name);
      std::vector<double> all(v.count());
      f_.read_as_double(name, all.data(), all.size());
      scan_block(name, all.data(), all.size(), 0, false, false);
    }
  }

  void scan_block(const std::string& name, const double* p, std::size_t n, std::size_t offset, bool is_pool,
                  bool is_pft_pool) {
    if (any_nonfinite(p, n)) {
      const bool nan_ok = nan_allowed_.count(name) > 0;  // a diagnostic ELM itself leaves NaN
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(p[i]) && !(nan_ok && std::isnan(p[i])))
          fail("finite", name, static_cast<std::int64_t>(offset + i), p[i], 0.0, std::isnan(p[i]) ? "NaN" : "infinite value");
    }
    if (is_pool && any_negative(p, n, opt_.negative_tolerance))
      for (std::size_t i = 0; i < n; ++i)
        if (p[i] < -opt_.negative_tolerance && !is_fill(p[i]))
          fail("non_negative", name, static_cast<std::int64_t>(offset + i), p[i], 0.0, "negative pool");
    if (is_pft_pool && offset + n <= absent_mask_.size()) {
      if (any_present_where(p, absent_mask_.data() + offset, n))
        for (std::size_t i = 0; i < n; ++i) {
          const std::size_t k = offset + i;
          if (k < absent_.size() && absent_[k] && p[i] != 0.0 && !is_fill(p[i])) absent_found_.push_back({name, k, p[i]});
        }
    }
  }

  std::size_t nlev_decomp(const VariableInfo& v) const {
    const std::size_t nlev = v.shape.size() == 2 ? v.shape[1] : 1;
    return std::min<std::size_t>(nlev, opt_.dzsoi_decomp.empty() ? 10 : opt_.dzsoi_decomp.size());
  }

  // Soil C:N is fixed in ELM (cn_s1..4); soil C:P floats from its initial value (cn_s x
  // np_s_new): immobilisation and biochemical mineralisation (SoilLittDecompMod,
  // PhosphorusDynamicsMod) move P without C and nothing in the source bounds the ratio, so a
  // `floating` ratio outside [ref/f, ref*f] only warns (ELM-written files leave that window
  // within two years at deep and P-poor levels).
  void soil_ratio(const char* element, const std::vector<double>& fixed, const char* rule, bool floating) {
    bool any = false;
    for (std::size_t k = 0; k < opt_.soil_pools.size(); ++k) {
      const std::string c_name = opt_.soil_pools[k] + "c_vr";
      const std::string x_name = opt_.soil_pools[k] + element + "_vr";
      if (!has(c_name) || !has(x_name)) continue;
      any = true;
      const VariableInfo& v = f_.info(c_name);
      const auto& c = read(c_name);
      const auto& x = read(x_name);
      const std::size_t nlev = v.shape.size() == 2 ? v.shape[1] : 1, nuse = nlev_decomp(v);
      std::vector<double> ratios;
      for (std::size_t i = 0; i < c.size(); ++i)
        if (i % nlev < nuse && c[i] > 1e-8 && !is_fill(c[i]) && x[i] > 0 && !is_fill(x[i])) ratios.push_back(c[i] / x[i]);
      double ref;
      if (!fixed.empty()) {
        ref = fixed.at(static_cast<std::size_t>(k));
      } else {
        if (ratios.empty()) continue;
        std::nth_element(ratios.begin(), ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2), ratios.end());
        ref = ratios[ratios.size() / 2];
      }
      for (std::size_t i = 0; i < c.size(); ++i) {
        if (i % nlev >= nuse || !(c[i] > 1e-8) || is_fill(c[i])) continue;
        if (is_fill(x[i]) || !(x[i] > 0)) {
          const std::string why = std::string("no ") + element + " where " + c_name + " holds carbon";
          if (floating)
            warn(rule, x_name, static_cast<std::int64_t>(i), x[i], c[i] / ref, why);
          else
            fail(rule, x_name, static_cast<std::int64_t>(i), x[i], c[i] / ref, why);
          continue;
        }
        const double r = c[i] / x[i];
        const std::string ratio = std::string("C:") + static_cast<char>(std::toupper(element[0]));
        if (floating) {
          const double lo = ref / opt_.stoichiometry_factor, hi = ref * opt_.stoichiometry_factor;
          if (!(r >= lo && r <= hi))  // ELM's CNP decomposition puts no bound on it: a warning
            warn(rule, x_name, static_cast<std::int64_t>(i), r, ref,
                 ratio + " outside [" + num(lo) + ", " + num(hi) + "] around its initial value " + num(ref) +
                     " (floats in ELM's CNP decomposition)");
        } else if (std::fabs(r / ref - 1.0) > opt_.rtol) {
          fail(rule, x_name, static_cast<std::int64_t>(i), r, ref, ratio + " differs from the fixed ratio");
        }
      }
    }
    if (!any) throw Skip{std::string("no soil c and ") + element + " _vr pools"};
  }

  void plant_ratio(const char* element, const std::vector<std::string>& params, const char* rule) {
    if (pft_type_.empty() || pft_wtcol_.empty()) throw Skip{"no pfts1d_itypveg / pfts1d_wtcol"};
    if (params.size() != opt_.tissues.size()) throw Skip{"no stoichiometry parameter for every tissue given"};
    bool any = false;
    for (std::size_t k = 0; k < opt_.tissues.size(); ++k) {
      const std::string c_name = opt_.tissues[k] + "c", x_name = opt_.tissues[k] + element;
      auto p = opt_.pft_params.find(params[k]);
      if (!has(c_name) || !has(x_name) || p == opt_.pft_params.end()) continue;
      any = true;
      const auto& c = read(c_name);
      const auto& x = read(x_name);
      for (std::size_t i = 0; i < c.size() && i < pft_type_.size(); ++i) {
        const auto t = static_cast<std::size_t>(pft_type_[i]);
        if (!(pft_wtcol_[i] > 0) || t == 0 || t >= p->second.size() || !(c[i] > 1e-6) || is_fill(c[i])) continue;
        const double target = p->second[t];
        if (!(target > 0)) continue;  // e.g. no live wood in grasses
        const double lo = target / opt_.stoichiometry_factor, hi = target * opt_.stoichiometry_factor;
        const double r = x[i] > 0 ? c[i] / x[i] : INFINITY;
        if (!(r >= lo && r <= hi))
          fail(rule, x_name, static_cast<std::int64_t>(i), r, target,
               std::string("C:") + static_cast<char>(std::toupper(element[0])) + " outside [" + num(lo) + ", " +
                   num(hi) + "] for PFT type " + std::to_string(t) + " (" + params[k] + ")");
      }
    }
    if (!any) throw Skip{std::string("no plant c/") + element + " pool pairs or parameters"};
  }

  // ELM's summaries (elm_driver: veg_cs%Summary, col_cs%Summary and the N/P ones) run over
  // filter_soilc / filter_soilp, the columns of soil and crop landunits and their pfts
  // (filterMod). Elsewhere a total keeps whatever it last held (0 on glacier columns, whose
  // P pools leaving AD sets: col_ps_restart initialises mineral P on every column).
  bool in_soil_filter(bool pft_level, std::size_t i) const {
    if (opt_.soil_filter_landunits.empty() || col_lun_type_.empty()) return true;
    std::int64_t c = static_cast<std::int64_t>(i);
    if (pft_level) c = i < pft_c_.size() ? pft_c_[i] : -1;
    if (c < 0 || c >= static_cast<std::int64_t>(col_lun_type_.size())) return true;
    const int type = static_cast<int>(col_lun_type_[static_cast<std::size_t>(c)]);
    return std::find(opt_.soil_filter_landunits.begin(), opt_.soil_filter_landunits.end(), type) !=
           opt_.soil_filter_landunits.end();
  }

  bool close(double a, double b) const {
    return std::fabs(a - b) <= opt_.rtol * std::max(std::fabs(a), std::fabs(b)) + 1e-8;
  }
  bool is_deadwood(const std::string& term) const {
    return std::find(opt_.deadwood.begin(), opt_.deadwood.end(), term) != opt_.deadwood.end();
  }
  static bool active_at(const std::vector<double>& flags, std::size_t i) {
    return flags.empty() || i >= flags.size() || flags[i] != 0.0;
  }

  // ELM's summaries (veg_cs_summary, col_cs_summary and the N/P analogues): each total the
  // file holds, whose every term it also holds, at the level of its own dimension. pft
  // terms of a column total are averaged over the column's active pfts with pfts1d_wtcol
  // (p2c); (column, levgrnd) terms are integrated over nlevdecomp with dzsoi_decomp.
  // ELM recomputes totals only on active pfts/columns (filter_soilp/soilc): an inactive one
  // may hold its last (cold-start) value instead, 0, or that value with the dead wood
  // before the AD-exit multiplication by spinup_mortality_factor.
  void totals() {
    if (opt_.totals.empty()) throw Skip{"no totals given"};
    std::vector<std::string> checked, skipped;
    for (const auto& spec : opt_.totals) {
      if (!has(spec.name)) continue;
      const VariableInfo& tv = f_.info(spec.name);
      if (tv.dims.size() != 1 || (tv.dims[0] != "pft" && tv.dims[0] != "column")) {
        skipped.push_back(spec.name + " (not on pft or column)");
        continue;
      }
      const bool pft_level = tv.dims[0] == "pft";
      std::vector<std::string> terms, missing;
      for (const auto& t : spec.terms) (has(t) ? terms : missing).push_back(t);
      for (const auto& t : spec.optional)
        if (has(t)) terms.push_back(t);
      std::string why;
      if (!missing.empty()) {
        why = "no ";
        for (std::size_t k = 0; k < missing.size(); ++k) why += (k ? ", " : "") + missing[k];
      }
      for (const auto& t : terms) {
        if (!why.empty()) break;
        const VariableInfo& v = f_.info(t);
        const bool on_pft = v.dims.size() == 1 && v.dims[0] == "pft";
        const bool on_col = !v.dims.empty() && v.dims[0] == "column" && v.dims.size() <= 2;
        if (pft_level ? !on_pft : !(on_col || on_pft)) why = t + " is on (" + (v.dims.empty() ? "" : v.dims[0]) + ")";
        else if (on_pft && !pft_level && (pft_c_.empty() || pft_wtcol_.empty())) why = "no pfts1d_column_index / wtcol";
        else if (on_col && v.dims.size() == 2 && opt_.dzsoi_decomp.empty()) why = "no layer thicknesses given";
      }
      if (!why.empty()) {
        skipped.push_back(spec.name + " (" + why + ")");
        continue;
      }
      const std::size_t n = tv.count();
      std::vector<double> sum(n, 0.0), stale(n, 0.0);
      std::vector<char> valid(n, 1);
      for (const auto& t : terms) {
        const VariableInfo& v = f_.info(t);
        const auto& x = read(t);
        const bool dead = is_deadwood(t) && opt_.spinup_mortality_factor > 0;
        const double scale = dead ? 1.0 / opt_.spinup_mortality_factor : 1.0;
        if (v.dims[0] == "pft" && pft_level) {
          for (std::size_t i = 0; i < n && i < x.size(); ++i) {
            if (is_fill(x[i])) valid[i] = 0;
            sum[i] += x[i];
            stale[i] += x[i] * scale;
          }
        } else if (v.dims[0] == "pft") {  // p2c: active pfts, weighted by pfts1d_wtcol
          for (std::size_t i = 0; i < x.size() && i < pft_c_.size(); ++i) {
            const std::int64_t c = pft_c_[i];
            if (c < 0 || c >= static_cast<std::int64_t>(n) || !active_at(pft_active_, i) || !(pft_wtcol_[i] != 0)) continue;
            if (is_fill(x[i])) valid[c] = 0;
            sum[c] += x[i] * pft_wtcol_[i];
            stale[c] += x[i] * pft_wtcol_[i] * scale;
          }
        } else if (v.dims.size() == 2) {
          const std::size_t nlev = v.shape[1], nuse = nlev_decomp(v);
          for (std::size_t c = 0; c < n; ++c)
            for (std::size_t j = 0; j < nuse; ++j) {
              const double y = x[c * nlev + j];
              if (is_fill(y)) valid[c] = 0;
              sum[c] += y * opt_.dzsoi_decomp[j];
              stale[c] += y * opt_.dzsoi_decomp[j];
            }
        } else {
          for (std::size_t c = 0; c < n && c < x.size(); ++c) {
            if (is_fill(x[c])) valid[c] = 0;
            sum[c] += x[c];
            stale[c] += x[c];
          }
        }
      }
      const auto& t = read(spec.name);
      const auto& active = pft_level ? pft_active_ : col_active_;
      for (std::size_t i = 0; i < n; ++i) {
        if (!valid[i] || is_fill(t[i]) || close(t[i], sum[i])) continue;
        if (!in_soil_filter(pft_level, i)) continue;  // ELM's summaries never recompute it there
        if (!active_at(active, i) && (t[i] == 0.0 || close(t[i], stale[i]))) continue;
        fail("totals", spec.name, static_cast<std::int64_t>(i), t[i], sum[i],
             spec.name + " differs from the sum of its " + std::to_string(terms.size()) + " terms (ELM's summary)");
      }
      checked.push_back(spec.name + (pft_level ? " (pft)" : " (column)"));
    }
    std::string note;
    if (!checked.empty()) {
      note = "checked:";
      for (const auto& c : checked) note += " " + c;
    }
    if (!skipped.empty()) {
      note += std::string(note.empty() ? "" : "; ") + "not checkable:";
      for (const auto& c : skipped) note += " " + c;
    }
    if (!note.empty()) report_.notes["totals"] = note;
    if (checked.empty()) throw Skip{skipped.empty() ? "no totals in the file" : note};
  }

  bool is_seed(const std::string& pool, double v) const {
    auto it = opt_.seed_carbon.find(pool);
    if (it == opt_.seed_carbon.end()) return false;
    for (double s : it->second)
      if (std::fabs(v - s) <= 1e-9 * std::max(1.0, std::fabs(s))) return true;
    return false;
  }

  // Pools on bare ground and on zero-weight pfts, found by the stream pass: ELM's cold-start
  // seeds (veg_cs/ns/ps InitCold) are accepted on zero-weight vegetated pfts, nothing else.
  void absent_pft_pools() {
    if (pft_type_.empty() || pft_wtcol_.empty()) throw Skip{"no pfts1d_itypveg / pfts1d_wtcol"};
    std::map<std::string, std::vector<double>> carbon;  // the C pools the N/P seeds refer to
    for (const auto& a : absent_found_) {
      const auto type = static_cast<std::size_t>(pft_type_[a.pft]);
      std::string why;
      if (type == 0) {
        why = "bare ground holds a vegetation pool";
      } else if (opt_.seed_carbon.count(a.name)) {
        if (is_seed(a.name, a.value)) continue;
        why = "a PFT with zero weight holds a pool other than ELM's cold-start seed";
      } else if (auto s = opt_.seed_nutrients.find(a.name); s != opt_.seed_nutrients.end()) {
        const std::string& cname = s->second.first;
        if (!carbon.count(cname)) carbon[cname] = has(cname) ? read(cname) : std::vector<double>();
        const auto& c = carbon[cname];
        const double cv = a.pft < c.size() ? c[a.pft] : 0.0;
        bool ok = is_seed(cname, cv) && a.value > 0;
        auto p = opt_.pft_params.find(s->second.second);
        if (ok && p != opt_.pft_params.end() && type < p->second.size() && p->second[type] > 0) {
          const double r = cv / a.value, target = p->second[type];
          ok = r >= target / opt_.stoichiometry_factor && r <= target * opt_.stoichiometry_factor;
        }
        if (ok) continue;
        why = "a PFT with zero weight holds " + a.name + " that is not ELM's seed (" + cname + " seed over " +
              s->second.second + ")";
      } else {
        why = "a PFT with zero weight holds a pool";
      }
      fail("absent_pft_pools", a.name, static_cast<std::int64_t>(a.pft), a.value, 0.0, why);
    }
  }

  void weights(const char* weight, const std::vector<std::int64_t>& parent, std::size_t nparent, const char* what) {
    const auto& w = read(weight);
    std::vector<double> sum(nparent, 0.0);
    std::vector<std::int64_t> first_child(nparent, -1);
    for (std::size_t i = 0; i < w.size() && i < parent.size(); ++i) {
      if (parent[i] < 0 || parent[i] >= static_cast<std::int64_t>(nparent)) continue;
      sum[parent[i]] += w[i];
      if (first_child[parent[i]] < 0) first_child[parent[i]] = static_cast<std::int64_t>(i);
    }
    for (std::size_t p = 0; p < nparent; ++p)
      if (first_child[p] >= 0 && std::fabs(sum[p] - 1.0) > opt_.weight_tolerance)
        fail("subgrid_weights", weight, first_child[p], sum[p], 1.0,
             std::string("weights of the ") + what + " " + std::to_string(p) + " sum to " + num(sum[p]));
  }

  void subgrid_weights() {
    bool any = false;
    if (has("pfts1d_wtcol") && !pft_c_.empty() && has("cols1d_gridcell_index")) {
      weights("pfts1d_wtcol", pft_c_, f_.info("cols1d_gridcell_index").count(), "pfts of column");
      any = true;
    }
    if (has("cols1d_wtlnd") && has("cols1d_landunit_index") && has("land1d_gridcell_index")) {
      weights("cols1d_wtlnd", read_index("cols1d_landunit_index"), f_.info("land1d_gridcell_index").count(),
              "columns of landunit");
      any = true;
    }
    if (has("land1d_wtxy") && !lun_g_.empty() && has("grid1d_lat")) {
      weights("land1d_wtxy", lun_g_, f_.info("grid1d_lat").count(), "landunits of gridcell");
      any = true;
    }
    if (!any) throw Skip{"no subgrid weight and index variables"};
  }

  // What ELM does with the file's spinup_state (ColumnDataType col_cs_restart): 0 or 1, and
  // a model of the other mode leaves or enters AD on reading it. Leaving AD multiplies each
  // pool with an AD factor > 1 by factor / scalaravg_col, which DecompCascadeBGCMod
  // (decomp_rate_constants_bgc) resets to 0 every step of AD years < 20, accumulates in AD
  // years 20-39 and sets to 1 where still < 1e-3 from year 40: 0 is ELM's own state before
  // year 20 (the file can continue AD, not leave it), negative or NaN never is. Soil
  // columns only (filter_soilc); elsewhere ELM leaves it at spval. The soil4 share of an AD
  // file says nothing about its mode (at cold or young sites soil C is soil4's cold-start
  // seed): it is reported as a note.
  void spinup_state() {
    need({"spinup_state"});
    const auto values = read("spinup_state");
    if (values.size() != 1) {  // ELM reads one integer (restartvar of a scalar)
      fail("spinup_state", "spinup_state", 0, static_cast<double>(values.size()), 1,
           "spinup_state must be a scalar (ELM reads one integer); this file holds " +
               std::to_string(values.size()) + " values");
      return;
    }
    const double state = values[0];
    if (state != 0 && state != 1) {
      fail("spinup_state", "spinup_state", 0, state, 0,
           "spinup_state must be 0 (normal) or 1 (AD): ELM ends a run that reads anything else (col_cs_restart)");
      return;
    }
    std::string note = state == 1 ? "AD restart (spinup_state 1)" : "normal-mode restart (spinup_state 0)";
    if (const double share = soil4_share(); share >= 0)
      note += "; soil4 holds " + num(share) + " of soil C (median over columns)";
    if (state == 1) {
      if (!has("scalaravg_col")) {
        fail("spinup_state", "spinup_state", 0, state, 0,
             "spinup_state = 1 (AD) but the file has no scalaravg_col, which leaving AD divides by");
        report_.notes["spinup_state"] = note;
        return;
      }
      const VariableInfo& v = f_.info("scalaravg_col");
      const auto& s = read("scalaravg_col");
      const std::size_t nlev = v.shape.size() == 2 ? v.shape[1] : 1, nuse = nlev_decomp(v);
      std::int64_t zero_cols = 0, soil_cols = 0;
      for (std::size_t c = 0; c * nlev < s.size(); ++c) {
        if (!in_soil_filter(false, c)) continue;
        ++soil_cols;
        bool zero = false;
        for (std::size_t j = 0; j < nuse; ++j) {
          const double x = s[c * nlev + j];
          if (is_fill(x)) continue;
          if (!(x >= 0)) {
            fail("spinup_state", "scalaravg_col", static_cast<std::int64_t>(c * nlev + j), x, 1.0,
                 "negative or NaN: ELM's AD accumulation never writes that, and leaving AD divides by it");
          } else if (x == 0) {
            zero = true;
          }
        }
        if (zero) {
          ++zero_cols;
          warn("spinup_state", "scalaravg_col", static_cast<std::int64_t>(c * nlev), 0.0, 1.0,
               "0: ELM accumulates it only from AD year 20 (DecompCascadeBGCMod): continue AD; leaving AD "
               "from this file would divide the pools by 0");
        }
      }
      note += zero_cols ? "; continue AD (" + std::to_string(zero_cols) + " of " + std::to_string(soil_cols) +
                              " soil columns have scalaravg_col = 0: it cannot leave AD before year 20)"
                        : "; continue AD, or leave AD (a native run from it, or elmai spinup)";
    }
    report_.notes["spinup_state"] = note;
  }

  // dz-weighted soil4 share of soil1..4 carbon, median over columns with > 1 gC/m2 (-1: none)
  double soil4_share() {
    if (opt_.soil_pools.empty()) return -1;
    for (const auto& n : opt_.soil_pools)
      if (!has(n + "c_vr")) return -1;
    const VariableInfo& v = f_.info(opt_.soil_pools.back() + "c_vr");  // the passive pool
    const std::size_t nlev = v.shape.size() == 2 ? v.shape[1] : 1, nuse = nlev_decomp(v);
    std::vector<const std::vector<double>*> soil;
    for (const auto& n : opt_.soil_pools) soil.push_back(&read(n + "c_vr"));
    const std::size_t last = soil.size() - 1;
    std::vector<double> fraction;
    const std::size_t ncol = v.shape.empty() ? 1 : v.shape[0];
    for (std::size_t c = 0; c < ncol; ++c) {
      double passive = 0, total = 0;
      bool fill = false;
      for (std::size_t j = 0; j < nuse; ++j) {
        const double dz = opt_.dzsoi_decomp.empty() ? 1.0 : opt_.dzsoi_decomp[j];
        for (std::size_t k = 0; k <= last; ++k) {
          const double x = (*soil[k])[c * nlev + j];
          if (is_fill(x)) fill = true;
          total += x * dz;
          if (k == last) passive += x * dz;
        }
      }
      if (!fill && total > 1.0) fraction.push_back(passive / total);
    }
    if (fraction.empty()) return -1;
    std::nth_element(fraction.begin(), fraction.begin() + static_cast<std::ptrdiff_t>(fraction.size() / 2), fraction.end());
    return fraction[fraction.size() / 2];
  }

  RestartFile f_;
  const CheckOptions& opt_;
  CheckReport report_;
  std::vector<double> glat_, glon_, pft_type_, pft_wtcol_, col_lun_type_, pft_active_, col_active_;
  std::vector<std::int64_t> col_g_, pft_g_, lun_g_, pft_c_;
  std::map<std::string, std::vector<double>> cache_;
  std::vector<double> scratch_, absent_mask_;
  std::vector<unsigned char> absent_;
  struct Absent {
    std::string name;
    std::size_t pft;
    double value;
  };
  std::vector<Absent> absent_found_;
  std::set<std::string> nan_allowed_;
  std::set<std::string> kept_;
  bool saw_pool_ = false;
};

}  // namespace

bool CheckReport::ok() const {
  for (const auto& [rule, n] : counts)
    if (n > 0) return false;
  return true;
}

CheckReport check_restart(const std::string& path, const CheckOptions& options) {
  const std::size_t nsoil = options.soil_pools.size();
  if (!options.soil_cn.empty() && options.soil_cn.size() != nsoil)
    throw Error(ErrorKind::Argument, "soil_cn needs one value per soil pool (" + std::to_string(nsoil) + ")");
  if (!options.soil_cp.empty() && options.soil_cp.size() != nsoil)
    throw Error(ErrorKind::Argument, "soil_cp needs one value per soil pool (" + std::to_string(nsoil) + ")");
  return Checker(path, options).run();
}

}  // namespace elmai

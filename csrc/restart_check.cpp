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
const char* const kCtc[] = {"litr1", "litr2", "litr3", "cwd", "soil1", "soil2", "soil3", "soil4"};
const char* const kPftPools[] = {"leaf", "froot", "livestem", "deadstem", "livecroot", "deadcroot"};
const char* const kPftCnParam[] = {"leafcn", "frootcn", "livewdcn", "deadwdcn", "livewdcn", "deadwdcn"};
const char* const kPftCpParam[] = {"leafcp", "frootcp", "livewdcp", "deadwdcp", "livewdcp", "deadwdcp"};

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
  Checker(const std::string& path, const CheckOptions& opt) : f_(path), opt_(opt) { report_.path = path; }

  CheckReport run() {
    load_subgrid();
    stream_pass();  // finite, non_negative, absent_pft_pools, totvegc sums
    run_rule("finite", [&] {});
    run_rule("non_negative", [&] {
      if (!saw_pool_) throw Skip{"no pool variables in the file"};
    });
    run_rule("soil_cn", [&] { soil_ratio("n", opt_.soil_cn, "soil_cn"); });
    run_rule("soil_cp", [&] { soil_ratio("p", opt_.soil_cp, "soil_cp"); });
    run_rule("plant_cn", [&] { plant_ratio("n", kPftCnParam, "plant_cn"); });
    run_rule("plant_cp", [&] { plant_ratio("p", kPftCpParam, "plant_cp"); });
    run_rule("column_totals", [&] { column_totals(); });
    run_rule("subgrid_weights", [&] { subgrid_weights(); });
    run_rule("absent_pft_pools", [&] {
      if (pft_type_.empty() || pft_wtcol_.empty()) throw Skip{"no pfts1d_itypveg / pfts1d_wtcol"};
    });
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
  static bool kept(const std::string& name) {
    static const std::set<std::string> names = [] {
      std::set<std::string> s = {"totsomc", "totlitc", "cwdc", "totvegc", "scalaravg_col", "spinup_state",
                                 "litr1c_vr", "litr2c_vr", "litr3c_vr", "cwdc_vr"};
      for (int k = 1; k <= 4; ++k)
        for (const char* e : {"c", "n", "p"}) s.insert("soil" + std::to_string(k) + e + "_vr");
      for (const char* p : kPftPools) s.insert(std::string(p) + "c");
      return s;
    }();
    return names.count(name) > 0;
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
    auto& n = report_.counts[rule];
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
    report_.failures.push_back(std::move(c));
  }

  // -- rules ----------------------------------------------------------------------------
  std::set<std::string> pool_names() const {
    std::set<std::string> names;
    for (const char* p : kCtc)
      for (const char* e : {"c", "n", "p"}) names.insert(std::string(p) + e + "_vr");
    for (const auto& n : pft_pool_names()) names.insert(n);
    for (const char* t : {"totcolc", "totsomc", "totlitc", "totvegc", "cwdc", "totcoln", "totcolp", "tlai", "tsai"})
      names.insert(t);
    return names;
  }

  static std::set<std::string> pft_pool_names() {
    std::set<std::string> names;
    for (const char* p : kPftPools)
      for (const char* e : {"c", "n", "p"})
        for (const char* s : {"", "_storage", "_xfer"}) names.insert(std::string(p) + e + s);
    names.insert("tlai");
    names.insert("tsai");
    return names;
  }

  static const std::vector<std::string>& vegc_pools() {  // what ELM's totvegc sums, where present
    static const std::vector<std::string> names = [] {
      std::vector<std::string> v;
      for (const char* p : kPftPools)
        for (const char* s : {"", "_storage", "_xfer"}) v.push_back(std::string(p) + "c" + s);
      for (const char* e : {"cpool", "xsmrpool", "gresp_storage", "gresp_xfer"}) v.emplace_back(e);
      return v;
    }();
    return names;
  }

  // One pass over the file, each float variable read once in cache-sized blocks of rows:
  // the per-variable rules (finite, non_negative, absent_pft_pools) and the per-column
  // totvegc sums run on a block while it is still in cache. A second pass over a
  // restart-sized buffer would cost as much as reading it again.
  void stream_pass() {
    constexpr std::size_t kBlockValues = 32768;  // 256 KiB of doubles
    const auto pools = pool_names(), pft_pools = pft_pool_names();
    const auto& vegc = vegc_pools();
    const bool have_pfts = !pft_type_.empty() && !pft_wtcol_.empty();
    absent_.assign(pft_type_.size(), 0);
    absent_mask_.assign(pft_type_.size(), 0.0);
    for (std::size_t i = 0; i < pft_type_.size() && i < pft_wtcol_.size(); ++i) {
      absent_[i] = !(pft_wtcol_[i] > 0) || pft_type_[i] == 0;
      absent_mask_[i] = absent_[i] ? 1.0 : 0.0;
    }
    if (has("totvegc") && !pft_c_.empty() && !pft_wtcol_.empty()) {
      vegc_sum_.assign(f_.info("totvegc").count(), 0.0);
      vegc_valid_.assign(vegc_sum_.size(), true);
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
            pft_pools.count(v.name) || std::find(vegc.begin(), vegc.end(), v.name) != vegc.end())
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
      const bool is_vegc = !vegc_sum_.empty() && std::find(vegc.begin(), vegc.end(), v.name) != vegc.end();
      saw_pool_ = saw_pool_ || is_pool;
      saw_vegc_ = saw_vegc_ || is_vegc;
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
        scan_block(v.name, p, n, r0 * row, is_pool, is_pft_pool, is_vegc);
      }
    }
    if (raw_scan.joinable()) raw_scan.join();
    if (raw_error) std::rethrow_exception(raw_error);
    for (const auto& name : raw_flagged) {  // rare: find the cells through netcdf-c
      const VariableInfo& v = f_.info(name);
      std::vector<double> all(v.count());
      f_.read_as_double(name, all.data(), all.size());
      scan_block(name, all.data(), all.size(), 0, false, false, false);
    }
  }

  void scan_block(const std::string& name, const double* p, std::size_t n, std::size_t offset, bool is_pool,
                  bool is_pft_pool, bool is_vegc) {
    if (any_nonfinite(p, n))
      for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(p[i]))
          fail("finite", name, static_cast<std::int64_t>(offset + i), p[i], 0.0, std::isnan(p[i]) ? "NaN" : "infinite value");
    if (is_pool && any_negative(p, n, opt_.negative_tolerance))
      for (std::size_t i = 0; i < n; ++i)
        if (p[i] < -opt_.negative_tolerance && !is_fill(p[i]))
          fail("non_negative", name, static_cast<std::int64_t>(offset + i), p[i], 0.0, "negative pool");
    if (is_pft_pool && offset + n <= absent_mask_.size()) {
      if (any_present_where(p, absent_mask_.data() + offset, n))
        for (std::size_t i = 0; i < n; ++i) {
          const std::size_t k = offset + i;
          if (k < absent_.size() && absent_[k] && p[i] != 0.0 && !is_fill(p[i]))
            fail("absent_pft_pools", name, static_cast<std::int64_t>(k), p[i], 0.0,
                 pft_type_[k] == 0 ? "bare ground holds a vegetation pool" : "a PFT with zero weight holds a pool");
        }
    }
    if (is_vegc)
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = offset + i;
        if (k >= pft_c_.size()) break;
        const std::int64_t c = pft_c_[k];
        if (c < 0 || c >= static_cast<std::int64_t>(vegc_sum_.size())) continue;
        if (is_fill(p[i])) vegc_valid_[c] = false;
        else vegc_sum_[c] += p[i] * pft_wtcol_[k];
      }
  }

  std::size_t nlev_decomp(const VariableInfo& v) const {
    const std::size_t nlev = v.shape.size() == 2 ? v.shape[1] : 1;
    return std::min<std::size_t>(nlev, opt_.dzsoi_decomp.empty() ? 10 : opt_.dzsoi_decomp.size());
  }

  void soil_ratio(const char* element, const std::vector<double>& fixed, const char* rule) {
    bool any = false;
    for (int k = 0; k < 4; ++k) {
      const std::string c_name = "soil" + std::to_string(k + 1) + "c_vr";
      const std::string x_name = "soil" + std::to_string(k + 1) + element + "_vr";
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
          fail(rule, x_name, static_cast<std::int64_t>(i), x[i], c[i] / ref,
               std::string("no ") + element + " where " + c_name + " holds carbon");
          continue;
        }
        const double r = c[i] / x[i];
        if (std::fabs(r / ref - 1.0) > opt_.rtol)
          fail(rule, x_name, static_cast<std::int64_t>(i), r, ref,
               std::string("C:") + static_cast<char>(std::toupper(element[0])) + " differs from the fixed ratio");
      }
    }
    if (!any) throw Skip{std::string("no soil1..4 c and ") + element + " _vr pools"};
  }

  void plant_ratio(const char* element, const char* const* params, const char* rule) {
    if (pft_type_.empty() || pft_wtcol_.empty()) throw Skip{"no pfts1d_itypveg / pfts1d_wtcol"};
    bool any = false;
    for (int k = 0; k < 6; ++k) {
      const std::string c_name = std::string(kPftPools[k]) + "c", x_name = std::string(kPftPools[k]) + element;
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

  void compare_total(const std::string& total, const std::vector<double>& sum, const std::vector<bool>& valid) {
    const auto& t = read(total);
    for (std::size_t i = 0; i < t.size() && i < sum.size(); ++i) {
      if (!valid[i] || is_fill(t[i])) continue;
      if (std::fabs(t[i] - sum[i]) > opt_.rtol * std::max(std::fabs(t[i]), std::fabs(sum[i])) + 1e-8)
        fail("column_totals", total, static_cast<std::int64_t>(i), t[i], sum[i], total + " differs from the sum of its pools");
    }
  }

  void column_totals() {
    if (opt_.dzsoi_decomp.empty()) throw Skip{"no layer thicknesses given"};
    bool any = false;
    const std::pair<const char*, std::vector<const char*>> groups[] = {
        {"totsomc", {"soil1", "soil2", "soil3", "soil4"}}, {"totlitc", {"litr1", "litr2", "litr3"}}, {"cwdc", {"cwd"}}};
    for (const auto& [total, pools] : groups) {
      if (!has(total)) continue;
      bool complete = true;
      for (const char* p : pools) complete = complete && has(std::string(p) + "c_vr");
      if (!complete) continue;
      any = true;
      const std::size_t ncol = f_.info(total).count();
      std::vector<double> sum(ncol, 0.0);
      std::vector<bool> valid(ncol, true);
      for (const char* p : pools) {
        const std::string name = std::string(p) + "c_vr";
        const VariableInfo& v = f_.info(name);
        const auto& data = read(name);
        const std::size_t nlev = v.shape.size() == 2 ? v.shape[1] : 1, nuse = nlev_decomp(v);
        for (std::size_t c = 0; c < ncol; ++c)
          for (std::size_t j = 0; j < nuse; ++j) {
            const double x = data[c * nlev + j];
            if (is_fill(x)) valid[c] = false;
            else sum[c] += x * opt_.dzsoi_decomp[j];
          }
      }
      compare_total(total, sum, valid);
    }
    if (saw_vegc_) {
      any = true;
      compare_total("totvegc", vegc_sum_, vegc_valid_);
    }
    if (!any) throw Skip{"no column totals with all their pools"};
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

  void spinup_state() {
    need({"spinup_state", "soil4c_vr", "soil1c_vr", "soil2c_vr", "soil3c_vr"});
    const double state = read("spinup_state").at(0);
    const VariableInfo& v = f_.info("soil4c_vr");
    const std::size_t nlev = v.shape.size() == 2 ? v.shape[1] : 1, nuse = nlev_decomp(v);
    std::vector<const std::vector<double>*> soil;
    for (int k = 1; k <= 4; ++k) soil.push_back(&read("soil" + std::to_string(k) + "c_vr"));
    std::vector<double> fraction;
    const std::size_t ncol = v.shape.empty() ? 1 : v.shape[0];
    for (std::size_t c = 0; c < ncol; ++c) {
      double passive = 0, total = 0;
      bool fill = false;
      for (std::size_t j = 0; j < nuse; ++j) {
        const double dz = opt_.dzsoi_decomp.empty() ? 1.0 : opt_.dzsoi_decomp[j];
        for (int k = 0; k < 4; ++k) {
          const double x = (*soil[k])[c * nlev + j];
          if (is_fill(x)) fill = true;
          total += x * dz;
          if (k == 3) passive += x * dz;
        }
      }
      if (!fill && total > 1.0) fraction.push_back(passive / total);
    }
    if (fraction.empty()) throw Skip{"no column with soil carbon"};
    std::nth_element(fraction.begin(), fraction.begin() + static_cast<std::ptrdiff_t>(fraction.size() / 2), fraction.end());
    const double median = fraction[fraction.size() / 2];
    // A normal-mode file with little soil4 is not flagged: a young native spin-up (e.g. the
    // year-20 restart an AI spin-up starts from) looks exactly like that.
    if (state == 1) {
      if (median > opt_.normal_passive_fraction)
        fail("spinup_state", "spinup_state", 0, median, opt_.normal_passive_fraction,
             "spinup_state = 1 (AD) but soil4 holds " + num(median) +
                 " of soil C (median over columns): the pools look like a normal-mode state");
      if (!has("scalaravg_col")) {
        fail("spinup_state", "spinup_state", 0, state, 0, "spinup_state = 1 (AD) but the file has no scalaravg_col");
      } else {
        const auto& s = read("scalaravg_col");
        for (std::size_t i = 0; i < s.size(); ++i)
          if (!is_fill(s[i]) && !(s[i] > 0))
            fail("spinup_state", "scalaravg_col", static_cast<std::int64_t>(i), s[i], 1.0,
                 "AD exit divides by scalaravg_col: it must be positive");
      }
    }
    if (state != 0 && state != 1)
      fail("spinup_state", "spinup_state", 0, state, 0, "spinup_state must be 0 (normal) or 1 (AD)");
  }

  RestartFile f_;
  const CheckOptions& opt_;
  CheckReport report_;
  std::vector<double> glat_, glon_, pft_type_, pft_wtcol_, col_lun_type_;
  std::vector<std::int64_t> col_g_, pft_g_, lun_g_, pft_c_;
  std::map<std::string, std::vector<double>> cache_;
  std::vector<double> scratch_, vegc_sum_, absent_mask_;
  std::vector<unsigned char> absent_;
  std::vector<bool> vegc_valid_;
  bool saw_pool_ = false, saw_vegc_ = false;
};

}  // namespace

bool CheckReport::ok() const {
  for (const auto& [rule, n] : counts)
    if (n > 0) return false;
  return true;
}

CheckReport check_restart(const std::string& path, const CheckOptions& options) {
  if (!options.soil_cn.empty() && options.soil_cn.size() != 4)
    throw Error(ErrorKind::Argument, "soil_cn needs 4 values (soil1..soil4)");
  if (!options.soil_cp.empty() && options.soil_cp.size() != 4)
    throw Error(ErrorKind::Argument, "soil_cp needs 4 values (soil1..soil4)");
  return Checker(path, options).run();
}

}  // namespace elmai

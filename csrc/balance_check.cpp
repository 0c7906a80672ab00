#include "elmai/balance_check.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "elmai/error.hpp"

namespace elmai {
namespace {

void validate(const BalanceTerms& t, double dt) {
  if (t.ncol < 0) throw Error(ErrorKind::Argument, "balance check: negative column count");
  if (t.ncol > 0 && (!t.begin || !t.end)) throw Error(ErrorKind::Argument, "balance check: begin/end arrays are null");
  for (auto* p : t.inputs)
    if (!p && t.ncol > 0) throw Error(ErrorKind::Argument, "balance check: an input term array is null");
  for (auto* p : t.outputs)
    if (!p && t.ncol > 0) throw Error(ErrorKind::Argument, "balance check: an output term array is null");
  if (!(dt > 0) || !std::isfinite(dt)) throw Error(ErrorKind::Argument, "balance check: dt must be > 0, not " + std::to_string(dt));
}

// Blocked so each term streams through once while the per-block sums stay in L1.
// Columns [first, last) only, so threads can split the range.
template <typename Sink>
void for_each_error(const BalanceTerms& t, double dt, std::int64_t first, std::int64_t last, Sink&& sink) {
  constexpr std::int64_t kBlock = 1024;
  double net[kBlock];
  for (std::int64_t start = first; start < last; start += kBlock) {
    const std::int64_t n = std::min(kBlock, last - start);
    for (std::int64_t i = 0; i < n; ++i) net[i] = 0.0;
    for (const double* in : t.inputs) {
      const double* p = in + start;
      for (std::int64_t i = 0; i < n; ++i) net[i] += p[i];
    }
    for (const double* out : t.outputs) {
      const double* p = out + start;
      for (std::int64_t i = 0; i < n; ++i) net[i] -= p[i];
    }
    const double* b = t.begin + start;
    const double* e = t.end + start;
    for (std::int64_t i = 0; i < n; ++i) net[i] = net[i] * dt - (e[i] - b[i]);
    sink(start, n, net);
  }
}

int thread_count(int threads, std::int64_t ncol) {
  constexpr std::int64_t kMinColumnsPerThread = 1 << 18;  // below this, thread start-up costs more
  if (threads < 0) throw Error(ErrorKind::Argument, "balance check: threads must be >= 0");
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int want = threads == 0 ? hw : threads;
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(want, ncol / kMinColumnsPerThread)));
}

// Runs body(part, first, last) over `parts` contiguous column ranges, in threads.
template <typename Body>
void split(std::int64_t ncol, int parts, Body&& body) {
  if (parts <= 1) {
    body(0, 0, ncol);
    return;
  }
  std::vector<std::thread> pool;
  for (int k = 0; k < parts; ++k)
    pool.emplace_back([&, k] { body(k, ncol * k / parts, ncol * (k + 1) / parts); });
  for (auto& th : pool) th.join();
}

}  // namespace

void balance_errors(const BalanceTerms& terms, double dt, double* err_out, int threads) {
  validate(terms, dt);
  split(terms.ncol, thread_count(threads, terms.ncol), [&](int, std::int64_t first, std::int64_t last) {
    for_each_error(terms, dt, first, last, [&](std::int64_t start, std::int64_t n, const double* err) {
      for (std::int64_t i = 0; i < n; ++i) err_out[start + i] = err[i];
    });
  });
}

namespace {

BalanceSummary check_range(const BalanceTerms& terms, double dt, double fail_tolerance, double warn_tolerance,
                           std::int64_t first, std::int64_t last) {
  BalanceSummary s;
  for_each_error(terms, dt, first, last, [&](std::int64_t start, std::int64_t n, const double* err) {
    for (std::int64_t i = 0; i < n; ++i) {
      const double a = std::fabs(err[i]);
      if (a > warn_tolerance || std::isnan(a)) {  // NaN fails: a broken flux is not a pass
        const bool fail = !(a <= fail_tolerance);
        s.columns.push_back({start + i, err[i], fail});
        (fail ? s.nfail : s.nwarn)++;
      }
      // the first NaN, once seen, stays the maximum
      if (!std::isnan(s.max_abs_error) && (std::isnan(a) || a > s.max_abs_error)) {
        s.max_abs_error = a;
        s.max_column = start + i;
      }
    }
  });
  return s;
}

}  // namespace

BalanceSummary check_balance(const BalanceTerms& terms, double dt, double fail_tolerance, double warn_tolerance,
                             int threads) {
  validate(terms, dt);
  if (!(fail_tolerance >= 0) || !(warn_tolerance >= 0) || warn_tolerance > fail_tolerance)
    throw Error(ErrorKind::Argument, "balance check: need 0 <= warn tolerance <= fail tolerance");
  const int parts = thread_count(threads, terms.ncol);
  std::vector<BalanceSummary> pieces(static_cast<std::size_t>(parts));
  split(terms.ncol, parts, [&](int k, std::int64_t first, std::int64_t last) {
    pieces[k] = check_range(terms, dt, fail_tolerance, warn_tolerance, first, last);
  });
  BalanceSummary s = std::move(pieces[0]);  // merge in column order
  for (std::size_t k = 1; k < pieces.size(); ++k) {
    auto& p = pieces[k];
    s.columns.insert(s.columns.end(), p.columns.begin(), p.columns.end());
    s.nfail += p.nfail;
    s.nwarn += p.nwarn;
    if (!std::isnan(s.max_abs_error) && (std::isnan(p.max_abs_error) || p.max_abs_error > s.max_abs_error)) {
      s.max_abs_error = p.max_abs_error;
      s.max_column = p.max_column;
    }
  }
  return s;
}

}  // namespace elmai

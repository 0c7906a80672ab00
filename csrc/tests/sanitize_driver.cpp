// The file layer of the core under AddressSanitizer and UndefinedBehaviorSanitizer
// (tests/test_sanitizers.py builds it with -fsanitize=address,undefined): for each file
// given, open it, read every variable (stored type and as double, whole and by rows) and
// every attribute, run the static check, and write a copy with one variable replaced
// (both copy methods). A damaged file must end in an elmai::Error, never in undefined
// behaviour; the exit code is 0 either way and the sanitizers abort otherwise.
#include <cstdio>
#include <string>
#include <vector>

#include "elmai/balance_check.hpp"
#include "elmai/error.hpp"
#include "elmai/restart_check.hpp"
#include "elmai/restart_file.hpp"
#include "elmai/restart_writer.hpp"

namespace {

std::size_t type_size(nc_type t) {
  switch (t) {
    case NC_BYTE: case NC_CHAR: case NC_UBYTE: return 1;
    case NC_SHORT: case NC_USHORT: return 2;
    case NC_INT: case NC_FLOAT: case NC_UINT: return 4;
    default: return 8;
  }
}

void exercise(const std::string& path, const std::string& out_dir) {
  elmai::RestartFile f(path);
  std::string first_double;
  for (const auto& v : f.variables()) {
    std::vector<unsigned char> raw(v.count() * type_size(v.type) + 1);
    f.read(v.name, raw.data(), raw.size() - 1);
    (void)f.attributes(v.name);
    if (v.type == NC_CHAR) continue;
    std::vector<double> d(v.count() + 1);
    f.read_as_double(v.name, d.data(), v.count());
    if (!v.shape.empty() && v.shape[0] > 0) {
      std::size_t per_row = v.count() / v.shape[0];
      std::vector<double> rows(per_row * 2 + 1);
      f.read_rows_as_double(v.name, 0, std::min<std::size_t>(2, v.shape[0]), rows.data());
    }
    if (v.type == NC_DOUBLE && first_double.empty() && v.count() > 0) first_double = v.name;
  }
  (void)f.attributes("");
  elmai::CheckOptions options;  // no ELM vocabulary: the structural rules only
  (void)elmai::check_restart(path, options);
  if (!first_double.empty()) {
    const auto& info = f.info(first_double);
    std::vector<double> values(info.count(), 1.0);
    elmai::VariableUpdate u{first_double, NC_DOUBLE, info.shape, values.data()};
    for (auto method : {elmai::CopyMethod::Auto, elmai::CopyMethod::Define}) {
      const std::string dst = out_dir + "/copy.nc";
      elmai::write_restart(path, dst, {u}, "sanitizer driver", method);
      elmai::RestartFile back(dst);
      std::vector<double> got(info.count() + 1);
      back.read_as_double(first_double, got.data(), info.count());
      std::remove(dst.c_str());
    }
  }
  f.close();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: sanitize_driver OUT_DIR FILE...\n");
    return 2;
  }
  // the balance check on a few columns, one with a gap, and an empty one
  std::vector<double> begin{1, 2, 3}, end{1.5, 2, 2}, in{1, 0, 0}, out{0.5, 0, 0};
  elmai::BalanceTerms terms{3, begin.data(), end.data(), {in.data()}, {out.data()}};
  (void)elmai::check_balance(terms, 1.0, 1e-7, 1e-9);
  elmai::BalanceTerms none{0, nullptr, nullptr, {}, {}};
  (void)elmai::check_balance(none, 1.0, 1e-7, 1e-9);
  int errors = 0;
  for (int i = 2; i < argc; ++i) {
    try {
      exercise(argv[i], argv[1]);
      std::printf("ok %s\n", argv[i]);
    } catch (const elmai::Error& e) {
      ++errors;
      std::printf("error %s: %s\n", argv[i], e.what());
    }
  }
  std::printf("files %d, elmai errors %d\n", argc - 2, errors);
  return 0;
}

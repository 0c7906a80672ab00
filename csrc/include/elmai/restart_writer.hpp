// Writes a copy of a restart with some variables replaced. Safety first: the source is
// only ever opened read-only, the copy is built in a temporary file beside the
// destination and renamed into place, and every update is validated (name, dtype,
// shape, finite values) before a byte is written.
#pragma once

#include <netcdf.h>

#include <string>
#include <vector>

namespace elmai {

struct VariableUpdate {
  std::string name;
  nc_type type = NC_NAT;
  std::vector<std::size_t> shape;
  const void* data = nullptr;
};

// How a classic-format copy is laid out: Auto rewrites the source header in place of
// netcdf-c's define path (falling back to it when needed); Define always uses netcdf-c.
enum class CopyMethod { Auto, Define };

// `history_line` is appended (newline-separated) to the global `history` attribute.
void write_restart(const std::string& src, const std::string& dst, const std::vector<VariableUpdate>& updates,
                   const std::string& history_line, CopyMethod method = CopyMethod::Auto);

}  // namespace elmai

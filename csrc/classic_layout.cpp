#include "elmai/classic_layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "elmai/error.hpp"

namespace elmai {
namespace {

constexpr std::uint32_t kDimTag = 0x0A, kVarTag = 0x0B, kAttTag = 0x0C;

std::size_t nc_type_size(std::uint32_t t) {
  switch (t) {
    case 1: case 2: case 7: return 1;    // byte, char, ubyte
    case 3: case 8: return 2;            // short, ushort
    case 4: case 5: case 9: return 4;    // int, float, uint
    case 6: case 10: case 11: return 8;  // double, int64, uint64
    default: return 0;
  }
}

// Sequential big-endian reader over the file header, reading more bytes on demand.
class HeaderReader {
 public:
  HeaderReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    struct stat st {};
    if (::fstat(fd_, &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
  }

  std::uint64_t u32() { return be(4); }
  std::uint64_t u64() { return be(8); }
  void skip(std::uint64_t n) {
    ensure(n);
    pos_ += n;
  }
  std::string name(bool v5) {
    std::uint64_t len = v5 ? u64() : u32();
    if (len > (1u << 20)) fail("name length out of range");
    ensure(len);
    std::string s(reinterpret_cast<const char*>(buf_.data() + pos_), len);
    pos_ += (len + 3) & ~std::uint64_t(3);
    return s;
  }
  std::uint64_t pos() const { return pos_; }
  std::vector<unsigned char> take(std::uint64_t end) {
    buf_.resize(end);
    return std::move(buf_);
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::Format, "'" + path_ + "': malformed or truncated NetCDF header (" + why + ")");
  }

 private:
  std::uint64_t be(int n) {
    ensure(n);
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | buf_[pos_ + i];
    pos_ += n;
    return v;
  }
  void ensure(std::uint64_t n) {
    // a corrupted count must not make us (or netcdf-c after us) allocate beyond the file
    if (n > size_ || pos_ + n > size_) fail("a count or length in the header runs past the end of the file");
    while (buf_.size() < pos_ + n) {
      std::size_t old = buf_.size();
      std::size_t want = std::max<std::size_t>(old * 2, std::max<std::size_t>(65536, pos_ + n));
      buf_.resize(want);
      ssize_t got = ::pread(fd_, buf_.data() + old, want - old, static_cast<off_t>(old));
      if (got < 0) fail(std::string("read error: ") + std::strerror(errno));
      buf_.resize(old + static_cast<std::size_t>(got));
      if (got == 0) fail("unexpected end of file");
    }
  }
  int fd_;
  std::string path_;
  std::vector<unsigned char> buf_;
  std::uint64_t pos_ = 0;
  std::uint64_t size_ = 0;
};

// Skips an attribute list; when `h` is given, records where `history` sits in it.
void skip_attributes(HeaderReader& r, bool v5, ClassicHeader* h = nullptr) {
  if (h) h->gatt_tag_pos = r.pos();
  std::uint64_t tag = r.u32();
  std::uint64_t n = v5 ? r.u64() : r.u32();
  if (!(tag == 0 && n == 0)) {
    if (tag != kAttTag) r.fail("expected attribute list");
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t start = r.pos();
      const std::string name = r.name(v5);
      const std::uint32_t type = static_cast<std::uint32_t>(r.u32());
      std::size_t sz = nc_type_size(type);
      if (sz == 0) r.fail("unknown attribute type");
      std::uint64_t len = v5 ? r.u64() : r.u32();
      if (len > (std::uint64_t(1) << 40)) r.fail("attribute length out of range");
      r.skip((len * sz + 3) & ~std::uint64_t(3));
      if (h && name == "history") {
        h->history_pos = start;
        h->history_end = r.pos();
        h->history_is_text = type == 2;
      }
    }
  }
  if (h) h->gatt_end = r.pos();
}

void put_be(std::vector<unsigned char>& out, std::uint64_t v, int width) {
  for (int k = width - 1; k >= 0; --k) out.push_back(static_cast<unsigned char>(v >> (8 * k)));
}

void set_be(unsigned char* p, std::uint64_t v, int width) {
  for (int k = 0; k < width; ++k) p[k] = static_cast<unsigned char>(v >> (8 * (width - 1 - k)));
}

std::uint64_t get_be(const unsigned char* p, int width) {
  std::uint64_t v = 0;
  for (int k = 0; k < width; ++k) v = (v << 8) | p[k];
  return v;
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::uint64_t ClassicLayout::required_size() const {
  std::uint64_t end = 0;
  for (const auto& v : vars) {
    if (v.bytes == 0) continue;
    if (!v.record)
      end = std::max(end, v.begin + v.bytes);
    else if (numrecs > 0)
      end = std::max(end, v.begin + (numrecs - 1) * recsize + v.bytes);
  }
  return end;
}

bool is_classic_file(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return false;
  unsigned char m[4];
  if (::pread(f.fd, m, 4, 0) != 4) return false;
  return m[0] == 'C' && m[1] == 'D' && m[2] == 'F' && (m[3] == 1 || m[3] == 2 || m[3] == 5);
}

ClassicLayout read_classic_layout(const std::string& path) { return read_classic_header(path).layout; }

ClassicHeader read_classic_header(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw Error(ErrorKind::File, "cannot open '" + path + "': " + std::strerror(errno));
  HeaderReader r(f.fd, path);
  ClassicHeader H;
  ClassicLayout& L = H.layout;
  std::uint64_t magic = r.u32();
  if ((magic >> 8) != 0x434446) r.fail("bad magic number");
  L.version = static_cast<int>(magic & 0xff);
  if (L.version != 1 && L.version != 2 && L.version != 5) r.fail("unknown version");
  const bool v5 = L.version == 5;
  L.numrecs = v5 ? r.u64() : r.u32();
  if (!v5 && L.numrecs == 0xFFFFFFFFu) r.fail("streaming files are not supported");

  std::vector<std::uint64_t> dimlen;
  std::uint64_t tag = r.u32();
  std::uint64_t ndims = v5 ? r.u64() : r.u32();
  if (!(tag == 0 && ndims == 0)) {
    if (tag != kDimTag) r.fail("expected dimension list");
    for (std::uint64_t i = 0; i < ndims; ++i) {
      r.name(v5);
      dimlen.push_back(v5 ? r.u64() : r.u32());
    }
  }
  skip_attributes(r, v5, &H);

  tag = r.u32();
  std::uint64_t nvars = v5 ? r.u64() : r.u32();
  if (!(tag == 0 && nvars == 0) && tag != kVarTag) r.fail("expected variable list");
  std::vector<std::uint64_t> padded_rec;
  for (std::uint64_t i = 0; i < (tag == 0 ? 0 : nvars); ++i) {
    ClassicVariable v;
    v.name = r.name(v5);
    std::uint64_t nd = v5 ? r.u64() : r.u32();
    std::uint64_t count = 1;
    for (std::uint64_t d = 0; d < nd; ++d) {
      std::uint64_t id = v5 ? r.u64() : r.u32();
      if (id >= dimlen.size()) r.fail("dimension id out of range in '" + v.name + "'");
      if (d == 0 && dimlen[id] == 0)
        v.record = true;  // the unlimited dimension has length 0 in the header
      else
        count *= dimlen[id];
    }
    skip_attributes(r, v5);
    std::size_t sz = nc_type_size(static_cast<std::uint32_t>(r.u32()));
    if (sz == 0) r.fail("unknown type of '" + v.name + "'");
    (void)(v5 ? r.u64() : r.u32());  // vsize: recomputed below (it saturates for big vars)
    H.begin_pos.push_back(r.pos());
    v.begin = L.version == 1 ? r.u32() : r.u64();
    v.bytes = count * sz;
    if (v.record) padded_rec.push_back((v.bytes + 3) & ~std::uint64_t(3));
    L.vars.push_back(std::move(v));
  }
  // netcdf-c: a lone record variable is not padded within its record.
  if (padded_rec.size() == 1) {
    for (const auto& v : L.vars)
      if (v.record) L.recsize = v.bytes;
  } else {
    for (auto p : padded_rec) L.recsize += p;
  }
  H.bytes = r.take(r.pos());
  return H;
}

std::uint64_t ClassicHeader::data_begin() const {
  std::uint64_t b = bytes.size();
  bool any = false;
  for (const auto& v : layout.vars) {
    b = any ? std::min(b, v.begin) : v.begin;
    any = true;
  }
  return b;
}

bool rewrite_classic_header(const ClassicHeader& h, const std::string& history, std::uint64_t shift,
                            std::vector<unsigned char>& out) {
  out.clear();
  const bool v5 = h.layout.version == 5;
  const int count_width = v5 ? 8 : 4;
  if (h.history_end > h.history_pos && !h.history_is_text) return false;
  for (const auto& v : h.layout.vars)
    if (h.layout.version == 1 && v.begin + shift > 0x7fffffffu) return false;  // CDF-1 offsets are 32-bit signed

  std::vector<unsigned char> entry;  // the new history attribute
  const std::string name = "history";
  put_be(entry, name.size(), count_width);
  entry.insert(entry.end(), name.begin(), name.end());
  entry.resize((entry.size() + 3) & ~std::size_t(3), 0);
  put_be(entry, 2, 4);  // NC_CHAR
  put_be(entry, history.size(), count_width);
  entry.insert(entry.end(), history.begin(), history.end());
  entry.resize((entry.size() + 3) & ~std::size_t(3), 0);

  const auto& b = h.bytes;
  const bool had = h.history_end > h.history_pos;
  const std::uint64_t cut_from = had ? h.history_pos : h.gatt_end;
  const std::uint64_t cut_to = had ? h.history_end : h.gatt_end;
  out.reserve(b.size() + entry.size());
  out.insert(out.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(cut_from));
  out.insert(out.end(), entry.begin(), entry.end());
  out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(cut_to), b.end());
  const std::int64_t moved = static_cast<std::int64_t>(out.size()) - static_cast<std::int64_t>(b.size());

  if (!had) {  // one more global attribute; an ABSENT list becomes a list of one
    unsigned char* tag = out.data() + h.gatt_tag_pos;
    const std::uint64_t n = get_be(tag + 4, count_width);
    set_be(tag, kAttTag, 4);
    set_be(tag + 4, n + 1, count_width);
  }
  const int begin_width = h.layout.version == 1 ? 4 : 8;
  for (std::size_t i = 0; i < h.begin_pos.size(); ++i) {
    const std::uint64_t pos = h.begin_pos[i] + (h.begin_pos[i] >= cut_to ? moved : 0);
    set_be(out.data() + pos, h.layout.vars[i].begin + shift, begin_width);
  }
  return true;
}

}  // namespace elmai

// The .trw weights file: reader (validating, zero-copy) and writer (atomic).
// Byte layout and compatibility rules: weights_format/SPEC.md. This module owns the file format and
// nothing else: it knows dtypes and shapes, not what a model does with them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "weights_format/fallible_array.h"

namespace triage::trw {

inline constexpr uint16_t kVersionMajor = 1;
inline constexpr uint16_t kVersionMinor = 0;
inline constexpr uint64_t kAlign = 64;

// Hard caps applied to every file before anything is sized from it (SPEC.md "Limits").
inline constexpr uint32_t kMaxTensors = 4096;
inline constexpr uint32_t kMaxMetadata = 1024;
inline constexpr uint32_t kMaxRank = 8;
inline constexpr uint64_t kMaxDim = 1ull << 32;
inline constexpr uint64_t kMaxNumel = 1ull << 34;
inline constexpr uint32_t kMaxNameLen = 256;
inline constexpr uint32_t kMaxStringLen = 1u << 20;
inline constexpr uint32_t kMaxArrayLen = 1u << 16;
inline constexpr uint64_t kMaxFileSize = 1ull << 36;
inline constexpr uint64_t kMaxMetadataSize = 1ull << 24;  // bytes of the metadata section
inline constexpr uint32_t kMaxHeaderSize = 4096;

// Fixed layout facts (SPEC.md sections 3 and 7).
inline constexpr uint32_t kHeaderSize = 128;  // header_size written by this version
inline constexpr uint8_t kMagic[8] = {0x89, 'T', 'R', 'W', '\r', '\n', 0x1A, '\n'};
inline constexpr uint32_t kEndianMarker = 0x01020304;
inline constexpr uint64_t kKnownRequiredFeatures = 0;  // v1.0 defines no required-feature bit

// Type ids are never reused; a new type gets a new id.
enum class DType : uint32_t { F32 = 1, F16 = 2, BF16 = 3, Q8 = 4 };
const char* dtype_name(DType t);  // "f32", "f16", "bf16", "q8"; "unknown" for other values
// Bytes of one stored element (Q8: 1, the scales come on top); 0 for an unknown id.
uint32_t dtype_elem_size(DType t);

// Error codes of the format layer (the C API maps them all to TRIAGE_E_FORMAT / _IO / _UNSUPPORTED).
enum class Errc : int {
  Ok = 0,
  Io,           // cannot open / read / write
  Truncated,    // a structure runs past the end of the buffer
  BadMagic,
  BadVersion,   // major version not supported
  BadEndian,
  UnknownRequiredFeature,
  LimitExceeded,  // a count, rank, dim or length above the hard caps
  Overflow,       // a size or offset computation overflows
  BadValue,       // a field holds a value the spec forbids (bad dtype id, unaligned offset, ...)
  Overlap,        // tensors overlap or leave the data section
  Checksum,
  Duplicate,      // duplicate tensor name or metadata key
  NotFound,       // lookup of a missing key / tensor
  TypeMismatch,   // metadata key exists with another type
  NoMemory,       // an allocation failed (the input may be fine)
};

const char* errc_name(Errc c);  // "Truncated", "Checksum", ...

// An error message in a fixed buffer (longer text is cut): filling one never allocates, so a parse can
// report any failure, out of memory included, in a library built without exceptions. Reads like a
// std::string where tools use one (c_str, find, +, <<, conversion).
class ErrorText {
 public:
  static constexpr size_t kCapacity = 1024;
  ErrorText() = default;
  ErrorText(std::string_view s) { assign(s); }  // NOLINT(google-explicit-constructor): aggregate init
  ErrorText(const char* s) { assign(s); }       // NOLINT(google-explicit-constructor)
  ErrorText& operator=(std::string_view s) {
    assign(s);
    return *this;
  }
  ErrorText& operator=(const char* s) {
    assign(s);
    return *this;
  }
  ErrorText& operator+=(std::string_view s) {
    append(s);
    return *this;
  }
  void assign(std::string_view s) {
    n_ = 0;
    s_[0] = '\0';
    append(s);
  }
  void append(std::string_view s) {
    const size_t k = s.size() < kCapacity - 1 - n_ ? s.size() : kCapacity - 1 - n_;
    for (size_t i = 0; i < k; ++i) s_[n_ + i] = s[i];
    n_ += k;
    s_[n_] = '\0';
  }
  // printf-style assign (cut at the capacity).
  __attribute__((format(printf, 2, 3))) void format(const char* fmt, ...);

  const char* c_str() const { return s_; }
  const char* data() const { return s_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  std::string_view view() const { return {s_, n_}; }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  operator std::string() const { return std::string(view()); }  // NOLINT(google-explicit-constructor)
  size_t find(std::string_view s, size_t pos = 0) const { return view().find(s, pos); }
  size_t find(char c, size_t pos = 0) const { return view().find(c, pos); }
  friend bool operator==(const ErrorText& a, std::string_view b) { return a.view() == b; }
  friend std::string operator+(std::string a, const ErrorText& b) { return a.append(b.view()); }
  friend std::string operator+(const char* a, const ErrorText& b) { return std::string(a).append(b.view()); }
  friend std::string operator+(const ErrorText& a, std::string_view b) { return std::string(a.view()).append(b); }
  friend std::string operator+(const ErrorText& a, const char* b) { return std::string(a.view()).append(b); }
  friend std::ostream& operator<<(std::ostream& o, const ErrorText& t) { return o << t.view(); }

 private:
  char s_[kCapacity] = {};
  size_t n_ = 0;
};

struct Error {
  Errc code = Errc::Ok;
  uint64_t offset = 0;  // byte offset in the file the error refers to
  ErrorText message;    // human readable, names the field and the offset
  explicit operator bool() const { return code != Errc::Ok; }
};

enum class MetaType : uint32_t { I64 = 1, F64 = 2, Str = 3, I64Array = 4, F64Array = 5, StrArray = 6 };

// A parsed value: views into the file's bytes (strings) and into the File's own tables (arrays), valid
// as long as the File and the buffer it was parsed from.
struct MetaValue {
  MetaType type = MetaType::I64;
  int64_t i = 0;
  double f = 0;
  std::string_view s;
  std::span<const int64_t> ia;
  std::span<const double> fa;
  std::span<const std::string_view> sa;
};

struct MetaEntry {
  std::string_view key;
  MetaValue value;
};

// A view into the file's bytes (valid as long as the buffer the File was parsed from).
struct TensorView {
  std::string_view name;
  DType dtype = DType::F32;
  uint32_t rank = 0;
  uint64_t dims[kMaxRank] = {};
  uint64_t numel = 0;
  const uint8_t* data = nullptr;  // element payload (64-byte aligned within the file)
  uint64_t nbytes = 0;            // whole stored size, including q8 scales
  const float* scales = nullptr;  // Q8 only: dims[0] f32 scales stored after the int8 payload
  uint32_t crc32c = 0;
  uint64_t offset = 0;  // of the payload, from the start of the file
};

struct ParseOptions {
  // false skips the header, file and payload CRC checks: only for the fuzzer and for tools that
  // inspect damaged files on purpose; never for loading a model.
  bool verify_checksums = true;
  // Where the File's tables and the parse's temporaries come from (nullptr: the heap). They live as
  // long as the File; a region's memory must too.
  Region* tables = nullptr;
};

// What a parse owns besides the views: the tables and the decoded metadata arrays. Every allocation
// can fail (Errc::NoMemory), none throws.
struct FileTables {
  FallibleArray<MetaEntry> meta;
  FallibleArray<TensorView> tensors;
  FallibleArray<int64_t> i64;
  FallibleArray<double> f64;
  FallibleArray<std::string_view> str;
};

class File {
 public:
  // Validates everything (SPEC.md "Reader obligations") before returning; on failure returns false
  // and fills err. The buffer must outlive the File and stay unmodified, and must start at a 64-byte
  // aligned address (BadValue otherwise; trw::Buffer gives one). Allocates only through
  // FallibleArray: out of memory is Errc::NoMemory, never an exception.
  bool parse(std::span<const uint8_t> bytes, Error& err);
  bool parse(std::span<const uint8_t> bytes, Error& err, const ParseOptions& opt);

  uint16_t version_major() const { return major_; }
  uint16_t version_minor() const { return minor_; }
  uint64_t required_features() const { return req_features_; }
  uint64_t optional_features() const { return opt_features_; }
  uint32_t file_crc32c() const { return file_crc_; }

  std::span<const MetaEntry> metadata() const { return t_.meta.span(); }
  std::span<const TensorView> tensors() const { return t_.tensors.span(); }
  const MetaValue* find_meta(std::string_view key) const;
  const TensorView* find_tensor(std::string_view name) const;

  // Typed accessors: false + err (NotFound / TypeMismatch) when absent or of another type. The views
  // live as long as the File; these never allocate.
  bool get_i64(std::string_view key, int64_t& out, Error& err) const;
  bool get_f64(std::string_view key, double& out, Error& err) const;
  bool get_str(std::string_view key, std::string_view& out, Error& err) const;
  bool get_i64_array(std::string_view key, std::span<const int64_t>& out, Error& err) const;
  bool get_f64_array(std::string_view key, std::span<const double>& out, Error& err) const;
  bool get_str_array(std::string_view key, std::span<const std::string_view>& out, Error& err) const;
  // Copying forms for the tools (inline: they allocate, and stay out of the library's own code).
  bool get_str(std::string_view key, std::string& out, Error& err) const {
    return copy<std::string_view>(&File::get_str, key, out, err);
  }
  bool get_i64_array(std::string_view key, std::vector<int64_t>& out, Error& err) const {
    return copy<std::span<const int64_t>>(&File::get_i64_array, key, out, err);
  }
  bool get_f64_array(std::string_view key, std::vector<double>& out, Error& err) const {
    return copy<std::span<const double>>(&File::get_f64_array, key, out, err);
  }
  bool get_str_array(std::string_view key, std::vector<std::string>& out, Error& err) const {
    return copy<std::span<const std::string_view>>(&File::get_str_array, key, out, err);
  }

 private:
  // A viewing getter's value copied into out (a std::string or std::vector).
  template <class View, class Out>
  bool copy(bool (File::*get)(std::string_view, View&, Error&) const, std::string_view key, Out& out,
            Error& err) const {
    View v;
    if (!(this->*get)(key, v, err)) return false;
    out.assign(v.begin(), v.end());
    return true;
  }
  uint16_t major_ = 0, minor_ = 0;
  uint64_t req_features_ = 0, opt_features_ = 0;
  uint32_t file_crc_ = 0;
  FileTables t_;
};

// Reads a whole file into an aligned owned buffer (64-byte aligned, so tensor views are aligned).
class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  bool read_file(const char* path, Error& err);
  bool read_file(const std::string& path, Error& err) { return read_file(path.c_str(), err); }
  // An aligned copy, from `from` (nullptr: the heap).
  bool assign(std::span<const uint8_t> bytes, Error& err, Region* from = nullptr);
  std::span<const uint8_t> span() const { return {data_, size_}; }

 private:
  void release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool heap_ = true;  // data_ came from the heap (else from a caller's Region)
};

class Writer {
 public:
  // A metadata entry the writer owns (the reader's MetaValue is a view into a parsed file).
  struct OwnedValue {
    MetaType type = MetaType::I64;
    int64_t i = 0;
    double f = 0;
    std::string s;
    std::vector<int64_t> ia;
    std::vector<double> fa;
    std::vector<std::string> sa;
  };
  struct OwnedEntry {
    std::string key;
    OwnedValue value;
  };
  void set_i64(std::string key, int64_t v);
  void set_f64(std::string key, double v);
  void set_str(std::string key, std::string v);
  void set_i64_array(std::string key, std::vector<int64_t> v);
  void set_f64_array(std::string key, std::vector<double> v);
  void set_str_array(std::string key, std::vector<std::string> v);
  void set_required_features(uint64_t bits) { req_features_ = bits; }
  void set_optional_features(uint64_t bits) { opt_features_ = bits; }
  // set_* on an existing key replaces its value and type in place (the key keeps its position).
  // erase removes a key (no-op when absent).
  void erase(std::string_view key);
  // Copies the metadata (not the tensors) of an existing file, e.g. to rewrite thresholds.
  void copy_metadata_from(const File& f);

  // data: the element payload; for Q8 pass the int8 payload and the dims[0] scales separately.
  bool add_tensor(std::string name, DType dtype, std::span<const uint64_t> dims,
                  std::span<const uint8_t> data, Error& err,
                  std::span<const float> q8_scales = {});

  // Serialises to bytes in the layout of SPEC.md (sorted keys/tensors are NOT required: insertion order).
  bool serialize(std::vector<uint8_t>& out, Error& err) const;
  // serialize + atomic write: temp file in the same directory, fsync, rename. Refuses when `path`
  // names the same file as `input_path` (never overwrite the input).
  bool write_file(const std::string& path, Error& err, const std::string& input_path = {}) const;

 private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    std::vector<uint64_t> dims;
    std::vector<uint8_t> bytes;  // payload (+ scales for Q8), already laid out as stored
  };
  void set_value(std::string key, OwnedValue v);
  uint64_t req_features_ = 0;
  uint64_t opt_features_ = 0;
  std::vector<OwnedEntry> meta_;
  std::vector<PendingTensor> tensors_;
};

// Atomically writes bytes to path (temp + fsync + rename). Shared by every tool that writes files.
// The temp file is `.<name>.XXXXXX.tmp` in path's directory and is removed on every failure.
bool write_file_atomic(const std::string& path, std::span<const uint8_t> bytes, Error& err);
// True when a and b name the same existing file (same realpath, or same st_dev/st_ino).
bool same_file(const std::string& a, const std::string& b);

// CRC32C (Castagnoli), hardware SSE4.2 instruction where present, table fallback otherwise.
// seed is a previous result: crc32c(b, crc32c(a)) == crc32c(a followed by b); crc32c({}) == 0.
uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t seed = 0);
uint32_t crc32c_portable(std::span<const uint8_t> bytes, uint32_t seed = 0);
bool crc32c_has_hardware();  // whether crc32c() uses the SSE4.2 instruction on this machine

// f16 / bf16 <-> f32 conversions used by readers of those types (round to nearest even).
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace triage::trw

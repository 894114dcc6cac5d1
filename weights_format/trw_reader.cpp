// File::parse: the header and layout checks of SPEC.md section 9 (obligations 1-10), then the section
// parsers (11-14) and the file CRC (15). Nothing is handed out unless every check passed: on failure
// the File is empty.
#include <cstdio>
#include <cstring>

#include "weights_format/checked_math.h"
#include "weights_format/error.h"
#include "weights_format/le_bytes.h"
#include "weights_format/reader_sections.h"
#include "weights_format/trw_layout.h"

namespace triage::trw {
namespace {

using ull = unsigned long long;

bool zero_bytes(const uint8_t* b, uint64_t from, uint64_t to, const char* what, Error& err) {
  for (uint64_t p = from; p < to; ++p)
    if (b[p] != 0) return fail(err, Errc::BadValue, p, "%s: byte is %u, must be 0", what, unsigned(b[p]));
  return true;
}

}  // namespace

bool File::parse(std::span<const uint8_t> bytes, Error& err) { return parse(bytes, err, ParseOptions{}); }

// Every allocation is a FallibleArray's (Errc::NoMemory on failure): nothing here throws.
bool File::parse(std::span<const uint8_t> bytes, Error& err, const ParseOptions& opt) {
  using namespace layout;
  *this = File{};
  err = Error{};
  const uint8_t* b = bytes.data();
  const uint64_t n = bytes.size();

  if (n > 0 && reinterpret_cast<uintptr_t>(b) % kAlign != 0)
    return fail(err, Errc::BadValue, 0, "buffer: address is not 64-byte aligned (load the file with trw::Buffer)");
  // 1. magic, then the fixed header.
  if (n > 0 && std::memcmp(b, kMagic, n < 8 ? size_t(n) : 8) != 0)
    return fail(err, Errc::BadMagic, kMagicOff, "header.magic: not a .trw file");
  if (n < kHeaderSize)
    return fail(err, Errc::Truncated, n, "header: the file has %llu bytes, the header needs %u", ull(n), kHeaderSize);
  // 2-3. byte order, major version.
  const uint32_t endian = load_u32(b + kEndianOff);
  if (endian != kEndianMarker)
    return fail(err, Errc::BadEndian, kEndianOff, "header.endian_marker: 0x%08X%s, expected 0x%08X", endian,
                endian == 0x04030201u ? " (a big-endian file)" : "", kEndianMarker);
  const uint16_t major = load_u16(b + kMajorOff);
  if (major != kVersionMajor)
    return fail(err, Errc::BadVersion, kMajorOff, "header.version_major: %u, this reader implements %u", unsigned(major),
                unsigned(kVersionMajor));
  // 4-5. header size and CRC.
  const uint32_t hs = load_u32(b + kHeaderSizeOff);
  if (hs < kHeaderSize || hs % 8 != 0 || hs > kMaxHeaderSize)
    return fail(err, Errc::BadValue, kHeaderSizeOff, "header.header_size: %u, must be a multiple of 8 in [128, 4096]", hs);
  if (hs > n)
    return fail(err, Errc::Truncated, n, "header: header_size is %u but the file has %llu bytes", hs, ull(n));
  if (opt.verify_checksums) {
    const uint32_t want = load_u32(b + hs - 4), got = crc32c({b, size_t(hs - 4)});
    if (want != got)
      return fail(err, Errc::Checksum, hs - 4, "header.header_crc32c: stored 0x%08X, computed 0x%08X", want, got);
  }
  // 6. reserved fields.
  if (!zero_bytes(b, kReserved0Off, kReserved0Off + 4, "header.reserved", err)) return false;
  if (!zero_bytes(b, kReserved1Off, kReserved1Off + kReserved1Size, "header.reserved", err)) return false;
  // 7. features.
  const uint64_t req = load_u64(b + kReqFeaturesOff);
  const uint64_t opt_bits = load_u64(b + kOptFeaturesOff);
  if ((req & ~kKnownRequiredFeatures) != 0)
    return fail(err, Errc::UnknownRequiredFeature, kReqFeaturesOff,
                "header.required_features: unknown bits 0x%016llX (this reader implements format %u.%u)",
                ull(req & ~kKnownRequiredFeatures), unsigned(kVersionMajor), unsigned(kVersionMinor));
  // 8. file size.
  const uint64_t fs = load_u64(b + kFileSizeOff);
  if (fs > kMaxFileSize)
    return fail(err, Errc::LimitExceeded, kFileSizeOff, "header.file_size: %llu exceeds kMaxFileSize", ull(fs));
  if (fs < uint64_t(hs) + kFileCrcSize)
    return fail(err, Errc::BadValue, kFileSizeOff, "header.file_size: %llu is smaller than header + trailer", ull(fs));
  if (n < fs)
    return fail(err, Errc::Truncated, n, "file: has %llu bytes, header.file_size says %llu", ull(n), ull(fs));
  if (n > fs) return fail(err, Errc::BadValue, fs, "file: %llu bytes after the end given by header.file_size", ull(n - fs));
  // 9. counts and section caps.
  const uint32_t mcount = load_u32(b + kMetaCountOff);
  const uint32_t tcount = load_u32(b + kTensorCountOff);
  const uint64_t moff = load_u64(b + kMetaOffsetOff), msize = load_u64(b + kMetaSizeOff);
  const uint64_t toff = load_u64(b + kTableOffsetOff), tsize = load_u64(b + kTableSizeOff);
  const uint64_t doff = load_u64(b + kDataOffsetOff), dsize = load_u64(b + kDataSizeOff);
  if (mcount > kMaxMetadata)
    return fail(err, Errc::LimitExceeded, kMetaCountOff, "header.metadata_count: %u exceeds kMaxMetadata", mcount);
  if (tcount > kMaxTensors)
    return fail(err, Errc::LimitExceeded, kTensorCountOff, "header.tensor_count: %u exceeds kMaxTensors", tcount);
  if (msize > kMaxMetadataSize)
    return fail(err, Errc::LimitExceeded, kMetaSizeOff, "header.metadata_size: %llu exceeds kMaxMetadataSize", ull(msize));
  // 10. layout: contiguous sections in order, every end overflow-checked.
  if (moff != hs)
    return fail(err, Errc::BadValue, kMetaOffsetOff, "header.metadata_offset: %llu, must equal header_size %u", ull(moff), hs);
  uint64_t mend = 0, tend = 0, want_doff = 0, dend = 0, fend = 0;
  if (!add_u64(moff, msize, mend))
    return fail(err, Errc::Overflow, kMetaSizeOff, "header.metadata_size: metadata_offset + metadata_size overflows");
  if (toff != mend)
    return fail(err, Errc::BadValue, kTableOffsetOff, "header.tensor_table_offset: %llu, must equal the metadata end %llu",
                ull(toff), ull(mend));
  if (!add_u64(toff, tsize, tend) || !align_up_u64(tend, kAlign, want_doff))
    return fail(err, Errc::Overflow, kTableSizeOff, "header.tensor_table_size: the tensor table end overflows");
  if (doff != want_doff)
    return fail(err, Errc::BadValue, kDataOffsetOff, "header.data_offset: %llu, must be the tensor table end aligned to 64, %llu",
                ull(doff), ull(want_doff));
  if (dsize % kAlign != 0)
    return fail(err, Errc::BadValue, kDataSizeOff, "header.data_size: %llu is not a multiple of 64", ull(dsize));
  if (!add_u64(doff, dsize, dend) || !add_u64(dend, kFileCrcSize, fend))
    return fail(err, Errc::Overflow, kDataSizeOff, "header.data_size: data_offset + data_size overflows");
  if (fend != fs)
    return fail(err, Errc::BadValue, kDataSizeOff, "header.data_size: data_offset + data_size + 4 = %llu, file_size is %llu",
                ull(fend), ull(fs));
  if (!zero_bytes(b, tend, doff, "padding before the data section", err)) return false;

  // 11-14. sections (all ranges now known to lie inside the buffer).
  File f;
  FallibleArray<uint64_t> table_field_offsets;
  const DataSection data{doff, dsize};
  if (!parse_metadata_section(b, moff, msize, mcount, f.t_, opt.tables, err)) return false;
  if (!parse_tensor_table(b, toff, tsize, tcount, data, f.t_.tensors, table_field_offsets, opt.tables, err)) return false;
  if (!check_data_section(b, data, f.t_.tensors.span(), table_field_offsets.span(), opt.tables, err)) return false;
  if (opt.verify_checksums && !check_payload_crcs(f.t_.tensors.span(), err)) return false;
  // 15. The file CRC last: a damaged payload is reported by name above, and whatever else changed
  // (a metadata string, a padding byte's neighbour) is caught here.
  if (opt.verify_checksums) {
    const uint32_t want = load_u32(b + fs - 4), got = crc32c({b, size_t(fs - 4)});
    if (want != got)
      return fail(err, Errc::Checksum, fs - 4, "file CRC32C: stored 0x%08X, computed 0x%08X", want, got);
  }

  f.major_ = major;
  f.minor_ = load_u16(b + kMinorOff);
  f.req_features_ = req;
  f.opt_features_ = opt_bits;
  f.file_crc_ = load_u32(b + fs - 4);
  *this = std::move(f);
  return true;
}

}  // namespace triage::trw

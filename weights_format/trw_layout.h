// Byte offsets of the v1 header fields (SPEC.md section 3) and the sizes of the fixed parts of the
// entries, shared by the reader and the writer so the two cannot drift apart.
#pragma once

#include <cstdint>

namespace triage::trw::layout {

inline constexpr uint64_t kMagicOff = 0;
inline constexpr uint64_t kMajorOff = 8;
inline constexpr uint64_t kMinorOff = 10;
inline constexpr uint64_t kEndianOff = 12;
inline constexpr uint64_t kHeaderSizeOff = 16;
inline constexpr uint64_t kMetaCountOff = 20;
inline constexpr uint64_t kReqFeaturesOff = 24;
inline constexpr uint64_t kOptFeaturesOff = 32;
inline constexpr uint64_t kTensorCountOff = 40;
inline constexpr uint64_t kReserved0Off = 44;
inline constexpr uint64_t kMetaOffsetOff = 48;
inline constexpr uint64_t kMetaSizeOff = 56;
inline constexpr uint64_t kTableOffsetOff = 64;
inline constexpr uint64_t kTableSizeOff = 72;
inline constexpr uint64_t kDataOffsetOff = 80;
inline constexpr uint64_t kDataSizeOff = 88;
inline constexpr uint64_t kFileSizeOff = 96;
inline constexpr uint64_t kReserved1Off = 104;
inline constexpr uint64_t kReserved1Size = 20;
inline constexpr uint64_t kFixedEnd = 124;  // header CRC of a 128-byte header; extension starts here
inline constexpr uint64_t kFileCrcSize = 4;

}  // namespace triage::trw::layout

// The section parsers File::parse calls once the header and the layout have been validated, so the
// ranges they get are known to lie inside the buffer. They allocate only through FallibleArray
// (Errc::NoMemory on failure).
#pragma once

#include <cstdint>
#include <span>

#include "weights_format/trw.h"

namespace triage::trw {

// Metadata section [off, off + size) holding `count` entries into tables.meta (and the arrays into
// tables.i64 / f64 / str): SPEC.md section 4, obligation 12.
// Tables and temporaries come from `from` (nullptr: the heap).
bool parse_metadata_section(const uint8_t* base, uint64_t off, uint64_t size, uint32_t count, FileTables& tables,
                            Region* from, Error& err);

struct DataSection {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// Tensor table [off, off + size) holding `count` entries into `out`, each payload checked against the
// data section: SPEC.md sections 5 and 6, obligation 13. table_field_offsets gets, per tensor, the file
// offset of its entry's `offset` field (for error messages of the later checks).
bool parse_tensor_table(const uint8_t* base, uint64_t off, uint64_t size, uint32_t count, DataSection data,
                        FallibleArray<TensorView>& out, FallibleArray<uint64_t>& table_field_offsets, Region* from,
                        Error& err);

// Obligation 14: no overlap, zero padding (q8's included), data_size exact.
bool check_data_section(const uint8_t* base, DataSection data, std::span<const TensorView> tensors,
                        std::span<const uint64_t> table_field_offsets, Region* from, Error& err);

// Obligation 15: every payload's CRC32C.
bool check_payload_crcs(std::span<const TensorView> tensors, Error& err);

}  // namespace triage::trw

#include "weights_format/error.h"

namespace triage::trw {

const char* errc_name(Errc c) {
  switch (c) {
    case Errc::Ok: return "Ok";
    case Errc::Io: return "Io";
    case Errc::Truncated: return "Truncated";
    case Errc::BadMagic: return "BadMagic";
    case Errc::BadVersion: return "BadVersion";
    case Errc::BadEndian: return "BadEndian";
    case Errc::UnknownRequiredFeature: return "UnknownRequiredFeature";
    case Errc::LimitExceeded: return "LimitExceeded";
    case Errc::Overflow: return "Overflow";
    case Errc::BadValue: return "BadValue";
    case Errc::Overlap: return "Overlap";
    case Errc::Checksum: return "Checksum";
    case Errc::Duplicate: return "Duplicate";
    case Errc::NotFound: return "NotFound";
    case Errc::TypeMismatch: return "TypeMismatch";
    case Errc::NoMemory: return "NoMemory";
  }
  return "Unknown";
}

bool fail(Error& err, Errc code, uint64_t offset, const std::string& what) {
  err.code = code;
  err.offset = offset;
  err.message = what + " at offset " + std::to_string(offset);
  return false;
}

}  // namespace triage::trw

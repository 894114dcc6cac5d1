#include "tests/convert/convert_helpers.h"

#include <cstring>

namespace triage::test {

bool convert_model(const TempDir& dir, const TinyModel& m, trw::DType dtype, Converted& out, convert::Error& err,
                   const std::string& out_name) {
  convert::ConvertOptions opt;
  opt.checkpoint = write_model(dir, m);
  opt.dtype = dtype;
  opt.output = dir.path(out_name);
  if (!convert::convert_checkpoint(opt, out.report, err)) return false;
  trw::Error terr;
  if (!out.buf.read_file(opt.output, terr) || !out.file.parse(out.buf.span(), terr)) {
    err.code = convert::Errc::Output;
    err.message = "read back: " + terr.message;
    return false;
  }
  return true;
}

std::vector<float> stored_values(const trw::File& f, const std::string& name) {
  const trw::TensorView* t = f.find_tensor(name);
  if (!t) return {};
  std::vector<float> v(t->numel);
  const uint64_t per_row = t->rank > 0 && t->dims[0] > 0 ? t->numel / t->dims[0] : 0;
  for (uint64_t i = 0; i < t->numel; ++i) {
    switch (t->dtype) {
      case trw::DType::F32: std::memcpy(&v[i], t->data + 4 * i, 4); break;
      case trw::DType::F16:
      case trw::DType::BF16: {
        uint16_t h;
        std::memcpy(&h, t->data + 2 * i, 2);
        v[i] = t->dtype == trw::DType::F16 ? trw::f16_to_f32(h) : trw::bf16_to_f32(h);
        break;
      }
      case trw::DType::Q8:
        v[i] = float(static_cast<int8_t>(t->data[i])) * t->scales[i / per_row];
        break;
    }
  }
  return v;
}

}  // namespace triage::test

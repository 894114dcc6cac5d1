#include "tools/adapt/extract_features.h"

#include <algorithm>

#include "runtime/triage.h"
#include "tools/cli/image_io.h"
#include "tools/cli/text.h"
#include "tools/convert/file_io.h"
#include "tools/convert/sha256.h"

namespace triage::adapt {
namespace {

struct Handle {
  triage_model* m = nullptr;
  ~Handle() { triage_close(m); }
};

}  // namespace

bool extract_features(std::span<const uint8_t> model_bytes, const std::vector<cli::LabelledFile>& data,
                      const ExtractOptions& opt, FeatureSet& out, std::string& err) {
  const uint32_t batch = std::clamp<uint32_t>(opt.batch, 1, 64);
  triage_options o;
  triage_options_init(&o);
  o.threads = opt.threads;
  o.force = TRIAGE_FORCE_FINE;
  o.max_batch = batch;
  Handle h;
  const triage_status st = triage_open_memory(model_bytes.data(), model_bytes.size(), &o, &h.m);
  if (st != TRIAGE_OK) {
    err = std::string("cannot open the model: ") + cli::printable(triage_open_error()) + " (" + triage_status_name(st) + ")";
    return false;
  }
  triage_model_info info{};
  info.struct_size = sizeof info;
  triage_get_info(h.m, &info);
  const bool vit = info.img_coarse == 0;
  out = FeatureSet{};
  out.dim = static_cast<int>(info.embed_dim);
  out.rows_per_image = vit ? 1 : 2;
  const size_t n = data.size(), D = info.embed_dim;
  out.x.assign(n * out.rows_per_image * D, 0.0f);
  std::vector<std::string> hash_lines(n);
  std::vector<cli::Image> imgs(batch);
  std::vector<triage_image> views(batch);
  std::vector<triage_result> res(batch);
  std::vector<uint8_t> bytes;
  for (size_t b0 = 0; b0 < n; b0 += batch) {
    const size_t m = std::min<size_t>(batch, n - b0);
    for (size_t j = 0; j < m; ++j) {
      const cli::LabelledFile& f = data[b0 + j];
      convert::Error cerr;
      if (!convert::read_file_bytes(f.path, cli::kMaxImageFileBytes, bytes, cerr)) {
        err = cli::printable(cerr.message);
        return false;
      }
      hash_lines[b0 + j] = convert::sha256_hex(bytes) + " " + f.label + "\n";
      std::string derr;
      if (!cli::decode_image(bytes, imgs[j], derr) || !cli::convert_channels(imgs[j], info.in_channels, derr)) {
        err = cli::printable(f.path) + ": " + cli::printable(derr) + " (the model takes " +
              std::to_string(info.in_channels) + "-channel images)";
        return false;
      }
      views[j] = imgs[j].view();
    }
    if (triage_classify_batch(h.m, views.data(), m, res.data()) != TRIAGE_OK) {
      err = cli::printable(data[b0].path) + " (batch of " + std::to_string(m) + "): " + cli::printable(triage_last_error(h.m));
      return false;
    }
    for (size_t j = 0; j < m; ++j) {
      float* row = out.x.data() + (b0 + j) * out.rows_per_image * D;
      const bool ok = vit ? triage_get_features(h.m, j, TRIAGE_ROUTE_FINE, row, D) == TRIAGE_OK
                          : triage_get_features(h.m, j, TRIAGE_ROUTE_COARSE, row, D) == TRIAGE_OK &&
                                triage_get_features(h.m, j, TRIAGE_ROUTE_FINE, row + D, D) == TRIAGE_OK;
      if (!ok) {
        err = cli::printable(data[b0 + j].path) + ": features: " + cli::printable(triage_last_error(h.m));
        return false;
      }
    }
    if (opt.progress) opt.progress(b0 + m, n);
  }
  std::sort(hash_lines.begin(), hash_lines.end());
  convert::Sha256 hs;
  for (const std::string& l : hash_lines) hs.update({reinterpret_cast<const uint8_t*>(l.data()), l.size()});
  out.data_sha256 = convert::to_hex(hs.finish());
  return true;
}

}  // namespace triage::adapt

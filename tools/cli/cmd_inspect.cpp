// triage inspect: validate a .trw file (every check of SPEC.md section 9, checksums included) and
// print its header, metadata and tensor table. Exit 0 only for a valid file.
#include <cstdio>
#include <span>
#include <string>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "runtime/triage.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/key_file.h"
#include "tools/cli/text.h"
#include "weights_format/signed_file.h"
#include "weights_format/trw.h"

namespace triage::cli {
namespace {

using json = nlohmann::json;

constexpr const char* kUsage =
    "usage: triage inspect FILE.trw [--json] [--public-key KEY.pub]\n"
    "  Validates the file (layout, caps, header / file / per-tensor CRC32C) and prints its header,\n"
    "  metadata and tensor table, then which router thresholds the engine puts in force (calibrated,\n"
    "  or fail-safe for an uncalibrated file: the good class is never decided unless the caller opts\n"
    "  in with --allow-uncalibrated / TRIAGE_OPEN_ALLOW_UNCALIBRATED), or why the engine refuses it.\n"
    "  Exit status 0 only for a valid file; otherwise one line on stderr.\n"
    "  A signed file (`triage sign`) shows its signer's key id and whether the signature verifies over\n"
    "  every byte (a signature that does not is an invalid file).\n"
    "  --json          print one JSON object instead of text\n"
    "  --public-key F  also say whether the signer is this key, and open the model with it as the engine\n"
    "                  does with options.public_key (exit 1 when the engine refuses)\n";

constexpr size_t kTextArrayItems = 16;  // longer arrays are cut in the text output (not in --json)

std::string hex32(uint64_t v, int width) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%0*llx", width, static_cast<unsigned long long>(v));
  return b;
}

std::string dims_str(const trw::TensorView& t) {
  std::string s = "[";
  for (uint32_t i = 0; i < t.rank; ++i) s += (i ? ", " : "") + std::to_string(t.dims[i]);
  return s + "]";
}

json meta_json(const trw::MetaValue& v) {
  switch (v.type) {
    case trw::MetaType::I64: return v.i;
    case trw::MetaType::F64: return v.f;
    case trw::MetaType::Str: return std::string(v.s);
    case trw::MetaType::I64Array: return std::vector<int64_t>(v.ia.begin(), v.ia.end());
    case trw::MetaType::F64Array: return std::vector<double>(v.fa.begin(), v.fa.end());
    case trw::MetaType::StrArray: return std::vector<std::string>(v.sa.begin(), v.sa.end());
  }
  return nullptr;
}

const char* meta_type_name(trw::MetaType t) {
  switch (t) {
    case trw::MetaType::I64: return "i64";
    case trw::MetaType::F64: return "f64";
    case trw::MetaType::Str: return "str";
    case trw::MetaType::I64Array: return "i64[]";
    case trw::MetaType::F64Array: return "f64[]";
    case trw::MetaType::StrArray: return "str[]";
  }
  return "?";
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A metadata value for the text listing: JSON syntax (strings quoted and escaped), long arrays cut.
std::string meta_text(const trw::MetaValue& v) {
  json j = meta_json(v);
  if (j.is_array() && j.size() > kTextArrayItems) {
    size_t n = j.size();
    json head(j.begin(), j.begin() + kTextArrayItems);
    std::string s = dump(head);
    s.pop_back();
    return s + ", ... (" + std::to_string(n) + " values)]";
  }
  return dump(j);
}

// The signature trailer, verified against the key it names (integrity; whether that key is the one a
// tool requires is --public-key's question).
struct SignatureView {
  bool is_signed = false;
  bool verifies = false;
  std::string key_id, public_key_hex;
};

SignatureView signature_view(const trw::SignedFile& sf) {
  SignatureView v;
  if (!sf.is_signed) return v;
  v.is_signed = true;
  v.key_id = trw::key_id(sf.public_key);
  std::string line = key_line(kPublicTag, sf.public_key);
  v.public_key_hex = line.substr(std::string(kPublicTag).size() + 1, 64);
  v.verifies = sodium_init() >= 0 &&
               crypto_sign_verify_detached(sf.signature, sf.message.data(), sf.message.size(), sf.public_key) == 0;
  return v;
}

// What the engine makes of the file's router: it opens the file as `triage run` does (default options)
// and reports the thresholds and the policy in force, or the engine's refusal.
struct RouterView {
  bool opened = false;
  std::string error;
  triage_model_info info{};  // numbers only: its strings were model-owned (the model is closed)
  std::string good_name;
};

RouterView router_view(std::span<const uint8_t> bytes, const uint8_t* public_key) {
  RouterView v;
  triage_model* m = nullptr;
  triage_options o;
  triage_options_init(&o);
  o.public_key = public_key;
  if (triage_open_memory(bytes.data(), bytes.size(), &o, &m) != TRIAGE_OK) {
    v.error = triage_open_error();
    return v;
  }
  v.info.struct_size = sizeof v.info;
  triage_get_info(m, &v.info);
  if (v.info.good_class >= 0) v.good_name = v.info.class_names[v.info.good_class];
  v.info.model_name = v.info.arch = v.info.weight_dtype = v.info.isa = nullptr;
  v.info.class_names = nullptr;
  triage_close(m);
  v.opened = true;
  return v;
}

const char* router_policy(const triage_model_info& i) {
  if (i.router_calibrated) return "calibrated";
  return i.fail_safe ? "fail-safe" : "uncalibrated";  // uncalibrated without fail-safe: no good class
}

void print_router(const RouterView& v) {
  if (!v.opened) {
    std::printf("\nrouter      the engine refuses this model: %s\n", printable(v.error).c_str());
    return;
  }
  const triage_model_info& i = v.info;
  std::printf("\nrouter      %s; file thresholds: coarse_good %.9g coarse_defect %.9g fine_good %.9g review %.9g\n",
              i.router_calibrated ? "calibrated" : "NOT calibrated", i.coarse_good_threshold, i.coarse_defect_threshold,
              i.fine_good_threshold, i.review_threshold);
  if (i.good_class < 0)
    std::printf("  in force  the file's thresholds (no good class: no good exit, no escape)\n");
  else if (i.fail_safe)
    std::printf("  in force  fail-safe: '%s' is never decided (an image the thresholds would call good gets its most\n"
                "            probable defect class and review = 1); the file's thresholds apply only when the caller\n"
                "            opts in (--allow-uncalibrated, TRIAGE_OPEN_ALLOW_UNCALIBRATED)\n",
                printable(v.good_name).c_str());
  else
    std::printf("  in force  the file's thresholds; with --force coarse the coarse pass decides '%s' only when\n"
                "            P >= coarse_good\n",
                printable(v.good_name).c_str());
  if (i.ood_enabled)
    std::printf("  unknown   out-of-distribution flag on: energy above %.9g (coarse) / %.9g (fine), or input mean\n"
                "            outside [%.6g, %.6g] or deviation outside [%.6g, %.6g]; calibrated to an in-distribution\n"
                "            false-flag rate <= %g\n",
                i.ood_coarse_threshold, i.ood_fine_threshold, i.ood_input_mean_lo, i.ood_input_mean_hi, i.ood_input_std_lo,
                i.ood_input_std_hi, i.ood_false_flag_rate);
  else
    std::printf("  unknown   no out-of-distribution thresholds: result.unknown is always 0\n");
}

json router_json(const RouterView& v) {
  if (!v.opened) return {{"engine_error", v.error}};
  const triage_model_info& i = v.info;
  return {{"calibrated", i.router_calibrated != 0},
          {"policy", router_policy(i)},
          {"good_class", i.good_class},
          {"coarse_good_threshold", i.coarse_good_threshold},
          {"coarse_defect_threshold", i.coarse_defect_threshold},
          {"fine_good_threshold", i.fine_good_threshold},
          {"review_threshold", i.review_threshold},
          {"ood", i.ood_enabled ? json{{"coarse_threshold", i.ood_coarse_threshold},
                                      {"fine_threshold", i.ood_fine_threshold},
                                      {"input_mean", {i.ood_input_mean_lo, i.ood_input_mean_hi}},
                                      {"input_std", {i.ood_input_std_lo, i.ood_input_std_hi}},
                                      {"false_flag_rate", i.ood_false_flag_rate}}
                                : json(nullptr)}};
}

void print_signature(const SignatureView& sv, const std::string& required_id) {
  if (!sv.is_signed) std::printf("signature   none (unsigned file)\n");
  else
    std::printf("signature   Ed25519 by key id %s (public key %s): %s\n", sv.key_id.c_str(), sv.public_key_hex.c_str(),
                sv.verifies ? "verifies over every byte" : "DOES NOT VERIFY (changed after signing)");
  if (!required_id.empty())
    std::printf("  required  key id %s: %s\n", required_id.c_str(),
                sv.is_signed && sv.verifies && sv.key_id == required_id ? "this file is signed by it" : "NOT signed by it");
}

void print_text(const std::string& path, uint64_t size, const trw::File& f) {
  uint64_t payload = 0;
  for (const auto& t : f.tensors()) payload += t.nbytes;
  std::printf("file        %s (%llu bytes)\n", printable(path).c_str(), static_cast<unsigned long long>(size));
  std::printf("format      trw %u.%u, required features %s, optional features %s\n", f.version_major(),
              f.version_minor(), hex32(f.required_features(), 1).c_str(), hex32(f.optional_features(), 1).c_str());
  std::printf("checksums   ok: header, file (%s) and %zu tensor CRC32C verified\n",
              hex32(f.file_crc32c(), 8).c_str(), f.tensors().size());
  std::printf("\nmetadata    %zu keys\n", f.metadata().size());
  for (const auto& m : f.metadata())
    std::printf("  %-34s %-6s %s\n", printable(m.key).c_str(), meta_type_name(m.value.type),
                meta_text(m.value).c_str());
  std::printf("\ntensors     %zu, %llu payload bytes\n", f.tensors().size(), static_cast<unsigned long long>(payload));
  std::printf("  %-34s %-5s %-20s %12s %12s %10s\n", "name", "type", "shape", "bytes", "offset", "crc32c");
  for (const auto& t : f.tensors())
    std::printf("  %-34s %-5s %-20s %12llu %12llu %10s\n", printable(t.name).c_str(), trw::dtype_name(t.dtype),
                dims_str(t).c_str(), static_cast<unsigned long long>(t.nbytes),
                static_cast<unsigned long long>(t.offset), hex32(t.crc32c, 8).c_str());
}

void print_json(const std::string& path, uint64_t size, const trw::File& f, const RouterView& rv, const SignatureView& sv) {
  json meta = json::object();
  for (const auto& m : f.metadata()) meta[std::string(m.key)] = meta_json(m.value);
  json tensors = json::array();
  for (const auto& t : f.tensors())
    tensors.push_back({{"name", std::string(t.name)},
                       {"type", trw::dtype_name(t.dtype)},
                       {"shape", std::vector<uint64_t>(t.dims, t.dims + t.rank)},
                       {"bytes", t.nbytes},
                       {"offset", t.offset},
                       {"crc32c", t.crc32c}});
  json j = {{"file", path},
            {"valid", true},
            {"file_size", size},
            {"version", std::to_string(f.version_major()) + "." + std::to_string(f.version_minor())},
            {"required_features", f.required_features()},
            {"optional_features", f.optional_features()},
            {"file_crc32c", f.file_crc32c()},
            {"checksums_verified", true},
            {"metadata", std::move(meta)},
            {"tensors", std::move(tensors)},
            {"signature", sv.is_signed ? json{{"algorithm", "ed25519"}, {"key_id", sv.key_id},
                                              {"public_key", sv.public_key_hex}, {"verifies", sv.verifies}}
                                        : json(nullptr)},
            {"router", router_json(rv)}};
  std::printf("%s\n", dump(j).c_str());
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
  Args a;
  std::string error;
  if (!parse_args(argc, argv, {{"--json", nullptr, false}, {"--public-key", nullptr, true}, {"--help", "-h", false}}, a,
                  error)) {
    std::fprintf(stderr, "triage inspect: %s (see triage inspect --help)\n", error.c_str());
    return 2;
  }
  if (a.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (a.positional.size() != 1) {
    std::fprintf(stderr, "triage inspect: need exactly one FILE (see triage inspect --help)\n");
    return 2;
  }
  const std::string& path = a.positional[0];
  uint8_t required[32];
  std::string required_id;
  if (a.has("--public-key")) {
    if (!read_public_key(a.get("--public-key"), required, error)) {
      std::fprintf(stderr, "triage inspect: --public-key: %s\n", error.c_str());
      return 2;
    }
    required_id = trw::key_id(required);
  }
  trw::Buffer buf;
  trw::File file;
  trw::SignedFile sf;
  trw::Error err;
  if (!buf.read_file(path, err) || !trw::split_signed(buf.span(), sf, err) || !file.parse(sf.model, err)) {
    std::fprintf(stderr, "triage inspect: %s: invalid: %s\n", printable(path).c_str(),
                 printable(err.message).c_str());
    return 1;
  }
  const SignatureView sv = signature_view(sf);
  const RouterView rv = router_view(buf.span(), required_id.empty() ? nullptr : required);
  if (a.has("--json")) {
    print_json(path, buf.span().size(), file, rv, sv);
  } else {
    print_text(path, buf.span().size(), file);
    print_signature(sv, required_id);
    print_router(rv);
  }
  if (std::fflush(stdout) != 0) return 1;
  if (sv.is_signed && !sv.verifies) {
    std::fprintf(stderr, "triage inspect: %s: invalid: the signature by key %s does not verify\n", printable(path).c_str(),
                 sv.key_id.c_str());
    return 1;
  }
  if (!required_id.empty() && !rv.opened) {
    std::fprintf(stderr, "triage inspect: %s: refused with --public-key: %s\n", printable(path).c_str(), printable(rv.error).c_str());
    return 1;
  }
  return 0;
}

}  // namespace triage::cli

// triage klarf: classify the review images of a KLARF file's defects and write a new KLARF with the
// classes in it, every other byte as read (tools/klarf). Exit 0 when the new file was written.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/triage.h"
#include "tools/cli/args.h"
#include "tools/cli/audit_log.h"
#include "tools/cli/commands.h"
#include "tools/cli/image_io.h"
#include "tools/cli/text.h"
#include "tools/klarf/class_numbers.h"
#include "tools/klarf/klarf_reader.h"
#include "tools/klarf/klarf_tokenizer.h"
#include "tools/klarf/klarf_writer.h"
#include "weights_format/trw.h"

namespace triage::cli {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: triage klarf MODEL.trw IN.klarf --images DIR -o OUT.klarf [--class-map MAP.csv]\n"
    "                    [--auto-column NAME|none] [--json] [--threads N] [--audit FILE.jsonl]\n"
    "                    [--allow-uncalibrated]\n"
    "       triage klarf --no-classify IN.klarf -o OUT.klarf [--json]\n"
    "  Reads a KLARF 1.2 or 1.8 file, classifies each defect's first review image (1.2: TiffFileName\n"
    "  with the defect's IMAGELIST image number as the page; 1.8: the first ImageList entry, its position\n"
    "  as the page; paths relative to --images DIR) and writes OUT.klarf: the class number in CLASSNUMBER\n"
    "  (and, in 1.8, in the auto-classification column AUTOOFFSEMCLASS where the file has it), the model's\n"
    "  classes added to ClassLookup, every other byte unchanged. A defect without an image, or whose image\n"
    "  cannot be read (a warning), keeps its class. A malformed file is refused with its line number.\n"
    "  OUT.klarf is written atomically and may not be IN.klarf. Prints a summary (defects, classified,\n"
    "  without image, per class, ms).\n"
    "  --class-map FILE  CSV `class_name,number`: the KLARF class number of each model class (every\n"
    "                    class named). Default: a class named like a ClassLookup entry takes its number,\n"
    "                    the others get numbers from one above the ClassLookup's highest, in model order\n"
    "  --auto-column NAME  the auto-classification column written besides CLASSNUMBER (default\n"
    "                    AUTOOFFSEMCLASS in 1.8 files, none in 1.2; `none`: CLASSNUMBER only)\n"
    "  --no-classify     read and write only (no model): the output is the input, byte for byte\n"
    "  --json            the summary as one JSON object\n"
    "  --threads N       worker threads of the engine (default 1)\n"
    "  --audit FILE      append one JSON line per classified defect to FILE (docs/audit-log.md; extra\n"
    "                    members klarf, klarf_line, defect_id, page, class_number)\n"
    "  --allow-uncalibrated  decide with the thresholds of a model whose router is not calibrated\n"
    "                    (without it such a model never decides its good class: `triage inspect`)\n";

bool parse_threads(const std::string& s, uint32_t& out) {
  if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  const unsigned long v = std::stoul(s);
  if (v < 1 || v > TRIAGE_MAX_THREADS) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

// An image reference of the file as a path under dir: '\' read as '/', absolute paths and '..'
// refused (a KLARF names images relative to its image folder).
bool image_path(const std::string& dir, const std::string& ref, std::string& out, std::string& why) {
  std::string r = ref;
  for (char& c : r)
    if (c == '\\') c = '/';
  if (r.empty()) {
    why = "empty image name";
    return false;
  }
  if (r[0] == '/' || (r.size() >= 2 && r[1] == ':')) {
    why = "absolute image path (images are read relative to --images)";
    return false;
  }
  for (const auto& part : std::filesystem::path(r))
    if (part == "..") {
      why = "'..' in the image path";
      return false;
    }
  out = (std::filesystem::path(dir) / r).string();
  return true;
}

struct Tally {
  size_t classified = 0, without_image = 0, image_errors = 0, reviews = 0;
  std::vector<size_t> per_class;
  double classify_ms = 0;
};

int fail(const std::string& what) {
  std::fprintf(stderr, "triage klarf: %s\n", printable(what).c_str());
  return 1;
}

}  // namespace

int cmd_klarf(int argc, char** argv) {
  Args args;
  std::string error;
  const std::vector<OptSpec> specs = {{"--images", nullptr, true},      {"--output", "-o", true},
                                      {"--class-map", nullptr, true},   {"--auto-column", nullptr, true},
                                      {"--no-classify", nullptr, false}, {"--json", nullptr, false},
                                      {"--threads", nullptr, true},     {"--audit", nullptr, true},
                                      {"--allow-uncalibrated", nullptr, false}, {"--help", "-h", false}};
  if (!parse_args(argc, argv, specs, args, error)) {
    std::fprintf(stderr, "triage klarf: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (args.has("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const bool classify = !args.has("--no-classify");
  const auto usage = [](const char* why) {
    std::fprintf(stderr, "triage klarf: %s\n%s", why, kUsage);
    return 2;
  };
  if (classify && args.positional.size() != 2) return usage("a model and a KLARF file are required");
  if (!classify && args.positional.size() != 1) return usage("--no-classify takes one KLARF file (and no model)");
  if (!args.has("--output")) return usage("-o OUT.klarf is required");
  if (classify && !args.has("--images")) return usage("--images DIR is required (or --no-classify)");
  if (!classify && (args.has("--images") || args.has("--class-map") || args.has("--threads") || args.has("--auto-column") ||
                    args.has("--audit") || args.has("--allow-uncalibrated")))
    return usage("--images, --class-map, --threads, --auto-column, --audit and --allow-uncalibrated need a model "
                 "(not --no-classify)");
  triage_options opts;
  triage_options_init(&opts);
  if (args.has("--allow-uncalibrated")) opts.flags |= TRIAGE_OPEN_ALLOW_UNCALIBRATED;
  if (args.has("--threads") && !parse_threads(args.get("--threads"), opts.threads)) {
    std::fprintf(stderr, "triage klarf: --threads must be 1..%u\n", TRIAGE_MAX_THREADS);
    return 2;
  }
  const std::string in_path = args.positional.back(), out_path = args.get("--output");
  const std::string images_dir = args.get("--images");
  const bool as_json = args.has("--json");
  if (in_path == out_path || trw::same_file(in_path, out_path))
    return fail("the output " + out_path + " is the input file: write the new KLARF elsewhere");

  const auto t0 = Clock::now();
  klarf::ReadOptions ropt;
  if (args.has("--auto-column")) {
    std::string col = args.get("--auto-column");
    if (col == "none") col.clear();
    for (const char* reserved : {"CLASSNUMBER", "DEFECTID", "IMAGECOUNT", "IMAGELIST"})
      if (klarf::same_word(col, reserved)) return usage("--auto-column cannot be CLASSNUMBER, DEFECTID, IMAGECOUNT or IMAGELIST");
    ropt.auto_column_v12 = ropt.auto_column_v18 = col;
  }
  klarf::Document doc;
  if (!klarf::read_klarf_file(in_path, ropt, doc, error)) return fail(in_path + ": " + error);
  const char* version = doc.version == klarf::Version::v12 ? "1.2" : "1.8";

  // Every model class's KLARF number, and the image of every defect that has one.
  klarf::ClassUpdate update;
  klarf::ClassNumbering numbering;
  std::vector<std::string> class_names;
  Tally tally;
  triage_model* model = nullptr;
  if (classify) {
    if (doc.lookup.count > 1)
      return fail(in_path + ": " + std::to_string(doc.lookup.count) + " ClassLookup tables (line " + std::to_string(doc.lookup.line) +
                  " is the first); only a file with one can be extended");
    for (const klarf::Defect& d : doc.defects)
      if (!d.images.empty() && !d.has_class)
        return fail(in_path + ": line " + std::to_string(d.line) + ": defect " + d.id + " has images but its list has no CLASSNUMBER column");
    klarf::ClassMap map;
    if (args.has("--class-map") && !klarf::read_class_map(args.get("--class-map"), map, error))
      return fail(args.get("--class-map") + ": " + error);
    const triage_status st = triage_open_file(args.positional[0].c_str(), &opts, &model);
    if (st != TRIAGE_OK) return fail("model: " + std::string(triage_open_error()) + " (" + triage_status_name(st) + ")");
    triage_model_info info;
    info.struct_size = sizeof(info);
    triage_get_info(model, &info);
    for (uint32_t c = 0; c < info.num_classes; ++c) class_names.emplace_back(info.class_names[c]);
    if (!klarf::number_classes(class_names, doc.lookup.entries, args.has("--class-map") ? &map : nullptr, numbering, error)) {
      triage_close(model);
      return fail((args.has("--class-map") ? args.get("--class-map") + ": " : std::string()) + error);
    }
    AuditLog audit;
    if (args.has("--audit") && !audit.open(args.get("--audit"), args.positional[0], model, error)) {
      triage_close(model);
      return fail(error);
    }
    tally.per_class.assign(class_names.size(), 0);
    update.added = numbering.added;
    for (size_t i = 0; i < doc.defects.size(); ++i) {
      const klarf::Defect& d = doc.defects[i];
      if (d.images.empty()) {
        ++tally.without_image;
        continue;
      }
      const klarf::ImageRef& ref = d.images.front();
      std::string path;
      Image img;
      std::vector<uint32_t> pages;
      if (ref.position > 1) pages.push_back(ref.position - 1);
      const auto warn = [&](const std::string& why) {
        std::fprintf(stderr, "triage klarf: warning: line %u: defect %s: %s: %s (class kept)\n", d.line, printable(d.id).c_str(),
                     printable(ref.file).c_str(), printable(why).c_str());
        ++tally.image_errors;
      };
      if (!image_path(images_dir, ref.file, path, error)) {
        warn(error);
        continue;
      }
      if (!read_image(path, img, error, pages) || !convert_channels(img, info.in_channels, error)) {
        warn(error);
        continue;
      }
      const triage_image view = img.view();
      triage_result r;
      const auto c0 = Clock::now();
      const triage_status cs = triage_classify(model, &view, &r);
      tally.classify_ms += std::chrono::duration<double, std::milli>(Clock::now() - c0).count();
      if (cs != TRIAGE_OK) {
        warn(std::string(triage_last_error(model)) + " (" + triage_status_name(cs) + ")");
        continue;
      }
      ++tally.classified;
      ++tally.per_class[static_cast<size_t>(r.class_index)];
      tally.reviews += r.review;
      const int32_t number = numbering.numbers[static_cast<size_t>(r.class_index)];
      update.defects.emplace_back(i, number);
      if (audit.is_open()) {
        const json extra = {{"klarf", in_path}, {"klarf_line", d.line}, {"defect_id", d.id}, {"page", ref.position}, {"class_number", number}};
        std::string members = extra.dump(-1, ' ', false, json::error_handler_t::replace);
        members = members.substr(1, members.size() - 2);  // the members, without the braces
        const char* route = r.route == TRIAGE_ROUTE_FINE ? "fine" : "coarse";
        if (!audit.write({path, r.class_name, r.confidence, route, r.review != 0, members,
                          info.ood_enabled ? static_cast<int>(r.unknown) : -1},
                         error)) {
          triage_close(model);
          return fail(error + " (a decision the audit log misses: nothing written)");
        }
      }
    }
    triage_close(model);
  } else {
    for (const klarf::Defect& d : doc.defects) tally.without_image += d.images.empty();
  }

  std::string out;
  if (!klarf::write_klarf(doc, update, out, error)) return fail(in_path + ": " + error);
  // The new file must read back with the same defects: never write one this reader would refuse.
  klarf::Document check;
  if (!klarf::read_klarf(out, ropt, check, error) || check.defects.size() != doc.defects.size())
    return fail("the new KLARF does not read back (" + (error.empty() ? std::string("defect count") : error) + "); nothing written");
  trw::Error werr;
  if (!trw::write_file_atomic(out_path, {reinterpret_cast<const uint8_t*>(out.data()), out.size()}, werr))
    return fail(werr.message);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

  const size_t n = doc.defects.size();
  if (as_json) {
    json classes = json::object(), numbers = json::object(), added = json::array();
    for (size_t c = 0; c < class_names.size(); ++c) {
      classes[class_names[c]] = tally.per_class[c];
      numbers[class_names[c]] = numbering.numbers[c];
    }
    for (const klarf::ClassEntry& e : numbering.added) added.push_back({{"number", e.number}, {"name", e.name}});
    json s = {{"input", in_path},  {"output", out_path}, {"version", version}, {"wafers", doc.wafers},
              {"defects", n},      {"classified", tally.classified}, {"without_image", tally.without_image},
              {"image_errors", tally.image_errors}, {"review", tally.reviews}, {"classes", classes},
              {"class_numbers", numbers}, {"added_classes", added}, {"classify_ms", tally.classify_ms}, {"ms", ms}};
    std::printf("%s\n", s.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("klarf: %s -> %s (KLARF %s, %zu wafer%s)\n", printable(in_path).c_str(), printable(out_path).c_str(), version,
              doc.wafers, doc.wafers == 1 ? "" : "s");
  if (!classify) {
    std::printf("summary: %zu defects, %zu with images, %zu without image, not classified (--no-classify), %.1f ms\n", n,
                n - tally.without_image, tally.without_image, ms);
    return 0;
  }
  std::printf("summary: %zu defects, %zu classified, %zu without image, %zu image errors, %zu review, %.1f ms (classify %.1f ms)\n", n,
              tally.classified, tally.without_image, tally.image_errors, tally.reviews, ms, tally.classify_ms);
  for (size_t c = 0; c < class_names.size(); ++c)
    std::printf("  %-20s %6zu  (class number %d)\n", printable(class_names[c]).c_str(), tally.per_class[c], numbering.numbers[c]);
  if (!numbering.added.empty()) {
    std::printf("added to ClassLookup:");
    for (const klarf::ClassEntry& e : numbering.added) std::printf(" %d %s", e.number, klarf::quote_name(printable(e.name)).c_str());
    std::printf("\n");
  }
  return 0;
}

}  // namespace triage::cli

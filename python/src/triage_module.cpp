// triage._triage: the Python binding of the C API (runtime/triage.h) and of the CLI's image decoders
// (tools/cli/image_io.h). python/triage/__init__.py re-exports it; python/triage/__init__.pyi types it.
//
// Rules:
// - Images are 2-D (H, W) or 3-D (H, W, C) numpy arrays of uint8 or uint16, read in place (zero-copy)
//   when each row's samples are contiguous (any row stride, the C API's row_stride); other layouts
//   (negative or column strides) are copied into a contiguous buffer first. Shapes follow the C API.
// - The GIL is released while decoding and classifying. Calls on one Model are serialised by a mutex
//   (a triage_model handle is not for concurrent use); the GIL is always released before the mutex is
//   taken, so a thread waiting for the mutex never holds the GIL.
// - A failed C API call raises triage.TriageError(status name, message); a decoder failure raises
//   triage.ImageError(message). Both classes are defined in Python and handed over at import.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/triage.h"
#include "tools/cli/image_io.h"

namespace nb = nanobind;

namespace {

// ---- errors -------------------------------------------------------------------------------------
struct TriageFailure {
  std::string status, message;
};
struct ImageFailure {
  std::string message;
};
nb::object g_triage_error, g_image_error;  // the Python classes (set by _set_error_classes)

[[noreturn]] void fail(triage_status st, const char* message) {
  throw TriageFailure{triage_status_name(st), message ? message : ""};
}

// ---- images -------------------------------------------------------------------------------------
using AnyArray = nb::ndarray<nb::ro, nb::device::cpu>;

// An image the C API can read: a view of the array, or of `copy` when the array's layout needs one.
struct ImageView {
  triage_image img{};
  std::vector<uint8_t> copy;
};

ImageView to_view(const AnyArray& a) {
  ImageView v;
  size_t item = 0;
  if (a.dtype() == nb::dtype<uint8_t>()) {
    v.img.pixel = TRIAGE_PIXEL_U8;
    item = 1;
  } else if (a.dtype() == nb::dtype<uint16_t>()) {
    v.img.pixel = TRIAGE_PIXEL_U16;
    item = 2;
  } else {
    throw nb::type_error("triage: an image must be a uint8 or uint16 array");
  }
  if (a.ndim() != 2 && a.ndim() != 3)
    throw nb::value_error("triage: an image must be 2-D (height, width) or 3-D (height, width, channels)");
  const size_t h = a.shape(0), w = a.shape(1), c = a.ndim() == 3 ? a.shape(2) : 1;
  if (h == 0 || w == 0 || c == 0 || h > TRIAGE_MAX_IMAGE_SIDE || w > TRIAGE_MAX_IMAGE_SIDE || c > TRIAGE_MAX_CHANNELS)
    throw nb::value_error("triage: image shape out of range (sides 1..16384, channels 1..4)");
  v.img.height = uint32_t(h);
  v.img.width = uint32_t(w);
  v.img.channels = uint32_t(c);
  const int64_t s0 = a.stride(0), s1 = a.stride(1), s2 = a.ndim() == 3 ? a.stride(2) : 1;
  const bool rows_dense = s2 == 1 && (s1 == int64_t(c) || w == 1) && (s0 >= int64_t(w * c) || h == 1);
  const size_t row_bytes = w * c * item;
  if (rows_dense) {
    v.img.data = a.data();
    v.img.row_stride = h == 1 ? row_bytes : size_t(s0) * item;
    return v;
  }
  v.copy.resize(h * row_bytes);
  const auto* base = static_cast<const uint8_t*>(a.data());
  for (size_t y = 0; y < h; ++y)
    for (size_t x = 0; x < w; ++x)
      for (size_t k = 0; k < c; ++k)
        std::memcpy(&v.copy[(y * w + x) * c * item + k * item],
                    base + (int64_t(y) * s0 + int64_t(x) * s1 + int64_t(k) * s2) * int64_t(item), item);
  v.img.data = v.copy.data();
  v.img.row_stride = row_bytes;
  return v;
}

// A decoded image as a new numpy array: (H, W) for one channel, (H, W, C) otherwise.
nb::object image_to_numpy(triage::cli::Image& img) {
  const size_t item = img.pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
  const size_t row = size_t(img.width) * img.channels * item;
  auto* buf = new uint8_t[size_t(img.height) * row];
  for (uint32_t y = 0; y < img.height; ++y) std::memcpy(buf + y * row, img.bytes() + y * img.row_stride, row);
  nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<uint8_t*>(p); });
  const size_t shape3[3] = {img.height, img.width, img.channels};
  const size_t ndim = img.channels == 1 ? 2 : 3;
  if (item == 1)
    return nb::cast(nb::ndarray<nb::numpy, uint8_t>(buf, ndim, shape3, owner));
  return nb::cast(nb::ndarray<nb::numpy, uint16_t>(reinterpret_cast<uint16_t*>(buf), ndim, shape3, owner));
}

// Runs decoder(img, err, pages) without the GIL, then the channel rule when channels is given.
template <class Decoder>
nb::object decode_with(Decoder&& decoder, std::optional<uint32_t> channels,
                       const std::optional<std::vector<uint32_t>>& pages, const std::string& what) {
  if (channels && (*channels < 1 || *channels > TRIAGE_MAX_CHANNELS))
    throw nb::value_error("triage: channels must be 1..4");
  const std::vector<uint32_t> p = pages ? *pages : std::vector<uint32_t>{};
  triage::cli::Image img;
  std::string err;
  bool ok;
  {
    nb::gil_scoped_release nogil;
    ok = decoder(img, err, p) && (!channels || triage::cli::convert_channels(img, *channels, err));
  }
  if (!ok) throw ImageFailure{what + err};
  return image_to_numpy(img);
}

nb::object decode_image(nb::bytes data, std::optional<uint32_t> channels,
                        std::optional<std::vector<uint32_t>> pages) {
  const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(data.data()), data.size());
  return decode_with([&](triage::cli::Image& img, std::string& err, const std::vector<uint32_t>& p) {
    return triage::cli::decode_image(bytes, img, err, p);
  }, channels, pages, "");
}

nb::object read_image(const std::string& path, std::optional<uint32_t> channels,
                      std::optional<std::vector<uint32_t>> pages) {
  return decode_with([&](triage::cli::Image& img, std::string& err, const std::vector<uint32_t>& p) {
    return triage::cli::read_image(path, img, err, p);
  }, channels, pages, path + ": ");
}

// ---- results ------------------------------------------------------------------------------------
struct Result {
  int32_t class_index = 0;
  std::string class_name;
  float confidence = 0;
  std::vector<float> probabilities;
  uint32_t route = 0;
  bool review = false;
  bool unknown = false;
  uint32_t tokens = 0;
  float coarse_us = 0, fine_us = 0;

  static Result from(const triage_result& r, uint32_t num_classes) {
    Result o;
    o.class_index = r.class_index;
    o.class_name = r.class_name ? r.class_name : "";
    o.confidence = r.confidence;
    o.probabilities.assign(r.probabilities, r.probabilities + num_classes);
    o.route = r.route;
    o.review = r.review != 0;
    o.unknown = r.unknown != 0;
    o.tokens = r.tokens;
    o.coarse_us = r.coarse_us;
    o.fine_us = r.fine_us;
    return o;
  }
};

const char* route_name(uint32_t route) { return route == TRIAGE_ROUTE_FINE ? "fine" : "coarse"; }

nb::object float_array(const std::vector<float>& v) {
  auto* buf = new float[v.empty() ? 1 : v.size()];
  std::memcpy(buf, v.data(), v.size() * sizeof(float));
  nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<float*>(p); });
  const size_t shape[1] = {v.size()};
  return nb::cast(nb::ndarray<nb::numpy, float>(buf, 1, shape, owner));
}

// ---- the model handle ---------------------------------------------------------------------------
int force_from_name(const std::string& s) {
  if (s == "none") return TRIAGE_FORCE_NONE;
  if (s == "coarse") return TRIAGE_FORCE_COARSE;
  if (s == "fine") return TRIAGE_FORCE_FINE;
  if (s == "fine-all" || s == "fine_all") return TRIAGE_FORCE_FINE_ALL;
  throw nb::value_error("triage: force must be 'none', 'coarse', 'fine' or 'fine-all'");
}

class Model {
 public:
  Model(nb::object source, uint32_t threads, const std::string& isa, uint32_t max_batch, const std::string& force,
        bool allow_uncalibrated, std::optional<nb::bytes> public_key) {
    triage_options o;
    triage_options_init(&o);
    o.threads = threads;
    const int isa_id = triage_isa_from_name(isa.c_str());
    if (isa_id < 0) throw nb::value_error(("triage: unknown isa '" + isa + "' (auto, scalar, avx2, avx512, avx512_vnni, amx, neon)").c_str());
    o.isa_cap = uint32_t(isa_id);
    o.max_batch = max_batch;
    o.force = uint32_t(force_from_name(force));
    if (allow_uncalibrated) o.flags |= TRIAGE_OPEN_ALLOW_UNCALIBRATED;
    if (public_key) {
      if (public_key->size() != 32) throw nb::value_error("triage: public_key must be 32 bytes (an Ed25519 public key)");
      o.public_key = static_cast<const uint8_t*>(public_key->data());
    }
    triage_status st;
    if (nb::isinstance<nb::str>(source) || nb::hasattr(source, "__fspath__")) {
      nb::object p = nb::module_::import_("os").attr("fsdecode")(source);
      const std::string path = nb::cast<std::string>(p);
      nb::gil_scoped_release nogil;
      st = triage_open_file(path.c_str(), &o, &m_);
      if (st != TRIAGE_OK) msg_ = triage_open_error();  // thread-local: read on the opening thread
    } else {
      Py_buffer view;
      if (PyObject_GetBuffer(source.ptr(), &view, PyBUF_SIMPLE) != 0) {
        PyErr_Clear();
        throw nb::type_error("triage: Model(source): a path (str / os.PathLike) or the file's bytes");
      }
      {
        nb::gil_scoped_release nogil;
        st = triage_open_memory(view.buf, size_t(view.len), &o, &m_);
        if (st != TRIAGE_OK) msg_ = triage_open_error();
      }
      PyBuffer_Release(&view);
    }
    if (st != TRIAGE_OK) fail(st, msg_.c_str());
    info_.struct_size = sizeof(info_);
    if ((st = triage_get_info(m_, &info_)) != TRIAGE_OK) fail(st, triage_last_error(m_));
  }
  ~Model() { triage_close(m_); }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  void close() {
    nb::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(mu_);
    triage_close(m_);
    m_ = nullptr;
  }

  Result classify(const AnyArray& a) {
    ImageView v = to_view(a);
    Result out;
    {
      nb::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);
      check_open();
      triage_result r{};
      const triage_status st = triage_classify(m_, &v.img, &r);
      if (st != TRIAGE_OK) fail(st, triage_last_error(m_));
      out = Result::from(r, info_.num_classes);
    }
    return out;
  }

  std::vector<Result> classify_batch(const std::vector<AnyArray>& arrays) {
    std::vector<ImageView> views;
    views.reserve(arrays.size());
    for (const AnyArray& a : arrays) views.push_back(to_view(a));
    std::vector<Result> out;
    out.reserve(arrays.size());
    {
      nb::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);
      check_open();
      std::vector<triage_image> imgs(views.size());
      for (size_t i = 0; i < views.size(); ++i) imgs[i] = views[i].img;
      std::vector<triage_result> rs(info_.max_batch);
      for (size_t i = 0; i < imgs.size(); i += info_.max_batch) {  // batches of at most max_batch
        const size_t n = std::min<size_t>(info_.max_batch, imgs.size() - i);
        const triage_status st = triage_classify_batch(m_, imgs.data() + i, n, rs.data());
        if (st != TRIAGE_OK) fail(st, triage_last_error(m_));
        for (size_t k = 0; k < n; ++k) out.push_back(Result::from(rs[k], info_.num_classes));
      }
    }
    return out;
  }

  nb::object features(size_t index, const std::string& route) {
    if (route != "coarse" && route != "fine") throw nb::value_error("triage: route must be 'coarse' or 'fine'");
    std::vector<float> f(info_.embed_dim);
    {
      nb::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);
      check_open();
      const triage_status st = triage_get_features(m_, index, route == "fine" ? TRIAGE_ROUTE_FINE : TRIAGE_ROUTE_COARSE,
                                                   f.data(), f.size());
      if (st != TRIAGE_OK) fail(st, triage_last_error(m_));
    }
    return float_array(f);
  }

  nb::dict ood_scores(size_t index) {
    float s[TRIAGE_OOD_SCORES];
    {
      nb::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(mu_);
      check_open();
      const triage_status st = triage_get_ood_scores(m_, index, s, TRIAGE_OOD_SCORES);
      if (st != TRIAGE_OK) fail(st, triage_last_error(m_));
    }
    nb::dict d;
    d["energy"] = s[0];
    d["input_mean"] = s[1];
    d["input_std"] = s[2];
    return d;
  }

  nb::dict info() const {
    const triage_model_info& i = info_;
    nb::dict d;
    auto str = [](const char* s) { return std::string(s ? s : ""); };
    d["model_name"] = str(i.model_name);
    d["arch"] = str(i.arch);
    d["weight_dtype"] = str(i.weight_dtype);
    d["isa"] = str(i.isa);
    d["num_classes"] = i.num_classes;
    d["good_class"] = i.good_class;
    d["class_names"] = class_names();
    d["in_channels"] = i.in_channels;
    d["img_full"] = i.img_full;
    d["img_coarse"] = i.img_coarse;
    d["max_value_u8"] = i.max_value_u8;
    d["max_value_u16"] = i.max_value_u16;
    d["mean"] = i.mean;
    d["std"] = i.std;
    d["tokens_coarse"] = i.tokens_coarse;
    d["tokens_fine"] = i.tokens_fine;
    d["topk"] = i.topk;
    d["threads"] = i.threads;
    d["max_batch"] = i.max_batch;
    static const char* kForce[] = {"none", "coarse", "fine", "fine-all"};
    d["force"] = i.force < 4 ? kForce[i.force] : "?";
    d["arena_bytes"] = i.arena_bytes;
    d["weight_bytes"] = i.weight_bytes;
    d["router_calibrated"] = i.router_calibrated != 0;
    d["coarse_good_threshold"] = i.coarse_good_threshold;
    d["coarse_defect_threshold"] = i.coarse_defect_threshold;
    d["fine_good_threshold"] = i.fine_good_threshold;
    d["review_threshold"] = i.review_threshold;
    d["embed_dim"] = i.embed_dim;
    d["fail_safe"] = i.fail_safe != 0;
    nb::list review;
    for (uint32_t k = 0; k < i.num_classes; ++k)
      review.append(i.class_review_thresholds ? i.class_review_thresholds[k] : i.review_threshold);
    d["class_review_thresholds"] = review;
    d["ood_enabled"] = i.ood_enabled != 0;
    if (i.ood_enabled) {
      d["ood_coarse_threshold"] = i.ood_coarse_threshold;
      d["ood_fine_threshold"] = i.ood_fine_threshold;
      d["ood_input_mean_range"] = nb::make_tuple(i.ood_input_mean_lo, i.ood_input_mean_hi);
      d["ood_input_std_range"] = nb::make_tuple(i.ood_input_std_lo, i.ood_input_std_hi);
      d["ood_false_flag_rate"] = i.ood_false_flag_rate;
    }
    return d;
  }

  std::vector<std::string> class_names() const {
    std::vector<std::string> v;
    for (uint32_t k = 0; k < info_.num_classes; ++k) v.emplace_back(info_.class_names[k]);
    return v;
  }
  uint32_t in_channels() const { return info_.in_channels; }

 private:
  void check_open() const {
    if (!m_) fail(TRIAGE_E_INVALID_ARGUMENT, "the model is closed");
  }

  triage_model* m_ = nullptr;
  triage_model_info info_{};
  std::string msg_;
  std::mutex mu_;
};

}  // namespace

NB_MODULE(_triage, m) {
  m.doc() = "triage: inspection-image classification (libtriage, statically linked)";

  m.def("_set_error_classes", [](nb::object triage_error, nb::object image_error) {
    g_triage_error = triage_error;
    g_image_error = image_error;
  });
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const TriageFailure& e) {
      if (!g_triage_error.is_valid()) throw;
      nb::object exc = g_triage_error(e.status, e.message);
      PyErr_SetObject(g_triage_error.ptr(), exc.ptr());
    } catch (const ImageFailure& e) {
      if (!g_image_error.is_valid()) throw;
      nb::object exc = g_image_error(e.message);
      PyErr_SetObject(g_image_error.ptr(), exc.ptr());
    }
  });

  nb::class_<Result>(m, "Result")
      .def_ro("class_index", &Result::class_index)
      .def_ro("class_name", &Result::class_name)
      .def_ro("confidence", &Result::confidence)
      .def_prop_ro("probabilities", [](const Result& r) { return float_array(r.probabilities); })
      .def_prop_ro("route", [](const Result& r) { return std::string(route_name(r.route)); })
      .def_ro("review", &Result::review)
      .def_ro("unknown", &Result::unknown)
      .def_ro("tokens", &Result::tokens)
      .def_ro("coarse_us", &Result::coarse_us)
      .def_ro("fine_us", &Result::fine_us)
      .def("as_dict", [](const Result& r) {
        nb::dict d;
        d["class_index"] = r.class_index;
        d["class_name"] = r.class_name;
        d["confidence"] = r.confidence;
        d["probabilities"] = r.probabilities;
        d["route"] = route_name(r.route);
        d["review"] = r.review;
        d["unknown"] = r.unknown;
        d["tokens"] = r.tokens;
        d["coarse_us"] = r.coarse_us;
        d["fine_us"] = r.fine_us;
        return d;
      })
      .def("__repr__", [](const Result& r) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "Result(class_name=%s, confidence=%.4f, route=%s, review=%s, unknown=%s)",
                      r.class_name.c_str(), double(r.confidence), route_name(r.route), r.review ? "True" : "False",
                      r.unknown ? "True" : "False");
        return std::string(buf);
      });

  nb::class_<Model>(m, "Model")
      .def(nb::init<nb::object, uint32_t, const std::string&, uint32_t, const std::string&, bool,
                    std::optional<nb::bytes>>(),
           nb::arg("source"), nb::kw_only(), nb::arg("threads") = 1, nb::arg("isa") = "auto",
           nb::arg("max_batch") = 1, nb::arg("force") = "none", nb::arg("allow_uncalibrated") = false,
           nb::arg("public_key") = nb::none())
      .def_prop_ro("info", &Model::info)
      .def_prop_ro("class_names", &Model::class_names)
      .def_prop_ro("in_channels", &Model::in_channels)
      .def("classify", &Model::classify, nb::arg("image"))
      .def("classify_batch", &Model::classify_batch, nb::arg("images"))
      .def("features", &Model::features, nb::arg("index") = 0, nb::arg("route") = "coarse")
      .def("ood_scores", &Model::ood_scores, nb::arg("index") = 0)
      .def("close", &Model::close)
      .def("__enter__", [](nb::object self) { return self; })
      .def("__exit__", [](Model& self, nb::args) { self.close(); });

  m.def("decode_image", &decode_image, nb::arg("data"), nb::arg("channels") = nb::none(), nb::arg("pages") = nb::none());
  m.def("read_image", &read_image, nb::arg("path"), nb::arg("channels") = nb::none(), nb::arg("pages") = nb::none());
  m.def("version", []() { return std::string(triage_version()); });
}

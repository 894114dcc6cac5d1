// Engine: loading (parse -> config -> tensors -> pack -> plan) and classification (coarse pass ->
// router -> compacted fine pass -> scatter back).
#include "runtime/engine.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>

#include "runtime/checked.h"
#include "runtime/model_tensors.h"
#include "runtime/model_router.h"
#include "runtime/router.h"
#include "weights_format/trw.h"

namespace triage::rt {
namespace {

using Clock = std::chrono::steady_clock;

float micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<float, std::micro>(b - a).count();
}

kernels::Isa isa_cap(uint32_t cap) {
  switch (cap) {
    case TRIAGE_ISA_SCALAR: return kernels::Isa::Scalar;
    case TRIAGE_ISA_AVX2: return kernels::Isa::Avx2;
    case TRIAGE_ISA_AVX512: return kernels::Isa::Avx512;
    case TRIAGE_ISA_AVX512_VNNI: return kernels::Isa::Avx512Vnni;
    case TRIAGE_ISA_NEON: return kernels::Isa::Neon;
    default: return kernels::Isa::Amx;  // AUTO / AMX: no cap
  }
}

}  // namespace

bool Engine::check_options(const triage_options& o, Error& err) {
  if (o.threads < 1 || o.threads > TRIAGE_MAX_THREADS)
    return err.set(o.threads ? TRIAGE_E_LIMIT : TRIAGE_E_INVALID_ARGUMENT, "options.threads %u outside [1, %u]",
                   o.threads, TRIAGE_MAX_THREADS);
  if (o.max_batch < 1 || o.max_batch > TRIAGE_MAX_BATCH)
    return err.set(o.max_batch ? TRIAGE_E_LIMIT : TRIAGE_E_INVALID_ARGUMENT, "options.max_batch %u outside [1, %u]",
                   o.max_batch, TRIAGE_MAX_BATCH);
  if (o.isa_cap > TRIAGE_ISA_NEON) return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.isa_cap %u is not a triage_isa", o.isa_cap);
  if (o.force > TRIAGE_FORCE_FINE_ALL) return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.force %u is not a triage_force", o.force);
  if (o.flags & ~TRIAGE_OPEN_ALLOW_UNCALIBRATED)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.flags 0x%x has unknown bits", o.flags);
  const kernels::IsaEnv env = kernels::isa_env();
  if (env.present && !env.recognised)
    return err.set(TRIAGE_E_INVALID_ARGUMENT,
                   "environment TRIAGE_ISA='%s' is not an ISA name (scalar, avx2, avx512, avx512_vnni, amx, neon)", env.value);
  if (!o.arena && o.arena_size != 0) return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.arena_size set without options.arena");
  if (o.arena && reinterpret_cast<uintptr_t>(o.arena) % kArenaAlign != 0)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.arena must be %zu-byte aligned", kArenaAlign);
  if (!o.weights && o.weights_size != 0)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.weights_size set without options.weights");
  if (o.weights && reinterpret_cast<uintptr_t>(o.weights) % 64 != 0)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "options.weights must be 64-byte aligned");
  return true;
}

bool Engine::load(std::span<const uint8_t> bytes, const triage_options& opts, Mode mode, Error& err, Region& state,
                  Region& keep) {
  if (load_steps(bytes, opts, mode, err, state, keep)) return true;
  if (err.code == TRIAGE_E_NOMEM && (!state.measuring() || !keep.measuring())) {
    char what[sizeof err.message];
    std::memcpy(what, err.message, sizeof what);
    const bool unaligned = reinterpret_cast<uintptr_t>(bytes.data()) % 64 != 0 && !state.measuring();
    err.set(TRIAGE_E_NOMEM, "%s (the caller's memory: options.arena_size %zu, options.weights_size %zu; "
            "triage_arena_size and triage_weights_size say what this model needs%s)", what, opts.arena_size,
            opts.weights_size,
            unaligned ? "; the model bytes are not 64-byte aligned, so their aligned copy takes arena room: size the "
                        "arena with these same bytes, or pass aligned ones" : "");
  }
  return false;
}

bool Engine::load_steps(std::span<const uint8_t> bytes, const triage_options& opts, Mode mode, Error& err, Region& state,
                        Region& keep) {
  if (!check_options(opts, err)) return false;
  opts_ = opts;
  if (bytes.size() > TRIAGE_MAX_MODEL_BYTES)
    return err.set(TRIAGE_E_LIMIT, "model of %zu bytes exceeds the cap", bytes.size());
  // The open's scratch (parse tables, an aligned copy of the bytes, the weight conversion buffer) comes
  // from the arena's memory before any activation lives there; the model's names and packed weights
  // from the weights memory, which nothing writes after open.
  const size_t mark = state.used();
  {
    LoadedModel lm;
    if (!load_model(bytes, opts.public_key, (opts.flags & TRIAGE_OPEN_ALLOW_UNCALIBRATED) != 0, opts.force, lm, cfg_, router_,
                    text_, err, &state, &keep))
      return false;
    isa_ = kernels::select_isa(isa_cap(opts.isa_cap));
    if (!pack_model(cfg_, lm.tensors, isa_, pm_, err, &state, &keep)) return false;
  }  // the scratch is dead from here on
  weights_bytes_ = keep.peak();
  if (mode == Mode::WeightsSize) return true;
  state.rewind(mark);

  // Per-image result rows (written by every classify: the arena's memory, not the weights').
  const size_t nb = opts.max_batch;
  if (!probs_.resize(nb * static_cast<size_t>(cfg_.ncls()), &state) || !ood_.resize(nb, &state) ||
      !in_stats_.resize(nb, &state) || !esc_.resize(nb, &state) ||
      !cls_rows_.resize(nb * 2 * static_cast<size_t>(cfg_.D), &state) || !cls_pass_.resize(nb, &state))
    return err.set(TRIAGE_E_NOMEM, "cannot allocate the result rows of %zu images", nb);

  // Plan for the worst case of the chosen policy: every image escalated, with K = topk or Gc.
  const bool cfvit = cfg_.arch == Arch::CfVit;
  fine_k_ = opts.force == TRIAGE_FORCE_FINE_ALL ? cfg_.Gc : cfg_.K;
  // classify runs a batch in chunks of kChunkImages, so the activations are planned for at most that many.
  shape_.batch = static_cast<int>(opts.max_batch < static_cast<uint32_t>(kChunkImages) ? opts.max_batch : kChunkImages);
  shape_.threads = static_cast<int>(opts.threads);
  shape_.coarse = cfvit;
  shape_.fine_k = !cfvit ? 0 : opts.force == TRIAGE_FORCE_COARSE ? -1 : fine_k_;
  if (!plan_workspace(cfg_, pm_, isa_, shape_, plan_, err)) return false;
  if (mode == Mode::ArenaSize) {
    if (!state.reserve(plan_.arena.total, kArenaAlign)) return err.set(TRIAGE_E_LIMIT, "arena size overflows");
    arena_bytes_ = state.peak();
    return true;
  }
  if (!arena_mem_.resize_for_overwrite(plan_.arena.total / kArenaAlign, &state))
    return err.set(TRIAGE_E_NOMEM, "cannot allocate the %zu-byte activation arena", plan_.arena.total);
  arena_bytes_ = state.peak();
  unsigned char* arena = arena_mem_.data()->b;
  bind_workspace(cfg_, shape_, plan_, arena, ws_);
  if (!pool_.start(shape_.threads, err, opts.run_tasks, opts.run_tasks_ctx)) return false;
  Exec ex;
  ex.isa = isa_;
  ex.pool = &pool_;
  ex.scratch = ws_.scratch;
  ex.scratch_floats = ws_.scratch_floats;
  fwd_.init(&cfg_, &pm_, &ws_, ex);
  last_n_ = 0;
  return true;
}

bool Engine::check_image(const triage_image& img, int i, Error& err) const {
  if (!img.data) return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: data is NULL", i);
  if (img.pixel != TRIAGE_PIXEL_U8 && img.pixel != TRIAGE_PIXEL_U16)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: pixel type %u is not u8 (1) or u16 (2)", i, img.pixel);
  if (img.height == 0 || img.width == 0)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: empty image (%u x %u)", i, img.height, img.width);
  if (img.height > TRIAGE_MAX_IMAGE_SIDE || img.width > TRIAGE_MAX_IMAGE_SIDE)
    return err.set(TRIAGE_E_LIMIT, "image %d: %u x %u exceeds the %u pixel side cap", i, img.height, img.width,
                   TRIAGE_MAX_IMAGE_SIDE);
  if (img.channels != static_cast<uint32_t>(cfg_.C))
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: %u channels, the model takes %d", i, img.channels, cfg_.C);
  const size_t bps = img.pixel == TRIAGE_PIXEL_U16 ? 2 : 1;
  size_t row = 0, span = 0;
  if (!mul3_ok(img.width, img.channels, bps, row))
    return err.set(TRIAGE_E_LIMIT, "image %d: row size overflows", i);
  if (img.row_stride < row)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: row_stride %zu is below width * channels * %zu = %zu", i,
                   img.row_stride, bps, row);
  if (!mul_ok(static_cast<size_t>(img.height - 1), img.row_stride, span) || !add_ok(span, row, span) ||
      span > static_cast<size_t>(INT64_MAX / 2))
    return err.set(TRIAGE_E_LIMIT, "image %d: image size overflows", i);
  if (bps == 2 && (img.row_stride % 2 != 0 || reinterpret_cast<uintptr_t>(img.data) % 2 != 0))
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %d: u16 data and row_stride must be 2-byte aligned", i);
  return true;
}

void Engine::finish(int i, const float* logits, uint32_t route, triage_result& r) {
  const int n = cfg_.ncls();
  decide_final_result(logits, n, cfg_.good, router_, cfg_.labels, in_stats_[static_cast<size_t>(i)], route,
                      probs_.data() + static_cast<size_t>(i) * n, &ood_[static_cast<size_t>(i)], r);
}

bool Engine::classify(const triage_image* images, int n, triage_result* results, Error& err) {
  if (n < 1) return err.set(TRIAGE_E_INVALID_ARGUMENT, "batch of %d images", n);
  if (n > static_cast<int>(opts_.max_batch))
    return err.set(TRIAGE_E_LIMIT, "batch of %d images exceeds options.max_batch %u", n, opts_.max_batch);
  for (int i = 0; i < n; ++i)
    if (!check_image(images[i], i, err)) return false;
  // A large batch runs as consecutive chunks of kChunkImages: every layer of a pass then works on
  // activations that stay in the core's cache, where one sweep over 32 images of the 224-px model
  // streamed ~8 MB per layer (issue 19: batch 32 ran 10-19% below batch 8 per image). An image's result
  // does not depend on the other images of its call, so chunking changes no bit.
  for (int b = 0; b < n; b += kChunkImages)
    classify_chunk(images + b, n - b < kChunkImages ? n - b : kChunkImages, results + b, b);
  last_n_ = n;
  return true;
}

void Engine::classify_chunk(const triage_image* images, int n, triage_result* results, int base) {
  const int ncls = cfg_.ncls();
  const auto t0 = Clock::now();
  {
    OpTimer t(profile_, cfg_.arch == Arch::Vit ? 1 : 0, Op::Route);
    for (int i = 0; i < n; ++i) in_stats_[static_cast<size_t>(base + i)] = input_stats(images[i], cfg_.input);
  }
  if (cfg_.arch == Arch::Vit) {
    fwd_.vit(images, n);
    if (profile_) profile_->images[1] += static_cast<uint64_t>(n);
    OpTimer t(profile_, 1, Op::Route);
    for (int i = 0; i < n; ++i)
      keep_cls(base + i, TRIAGE_ROUTE_FINE, ws_.xf + static_cast<size_t>(i) * cfg_.tokens_fine(0) * cfg_.D);
    const float us = micros(t0, Clock::now()) / static_cast<float>(n);
    for (int i = 0; i < n; ++i) {
      results[i] = triage_result{};
      finish(base + i, ws_.logits + static_cast<size_t>(i) * ncls, TRIAGE_ROUTE_FINE, results[i]);
      results[i].tokens = static_cast<uint32_t>(cfg_.tokens_fine(0));
      results[i].fine_us = us;
    }
    return;
  }

  fwd_.coarse(images, n);
  if (profile_) profile_->images[0] += static_cast<uint64_t>(n);
  std::optional<OpTimer> route(std::in_place, profile_, 0, Op::Route);
  for (int i = 0; i < n; ++i)
    keep_cls(base + i, TRIAGE_ROUTE_COARSE, ws_.xc + static_cast<size_t>(i) * cfg_.tokens_coarse() * cfg_.D);
  int m = 0;
  for (int i = 0; i < n; ++i) {
    const size_t g = static_cast<size_t>(base + i);  // the image's index in the call
    triage_result& r = results[i];
    r = triage_result{};
    float* p = probs_.data() + g * ncls;
    const float* logits = ws_.logits + static_cast<size_t>(i) * ncls;
    r.tokens = static_cast<uint32_t>(cfg_.tokens_coarse_mean());
    bool escalate = false;
    if (opts_.force == TRIAGE_FORCE_COARSE) {
      finish(base + i, logits, TRIAGE_ROUTE_COARSE, r);
    } else if (opts_.force == TRIAGE_FORCE_FINE || opts_.force == TRIAGE_FORCE_FINE_ALL) {
      escalate = true;
    } else {
      escalate = !decide_coarse_result(logits, ncls, cfg_.good, router_, cfg_.labels, in_stats_[g], p, &ood_[g], r);
    }
    if (escalate) esc_[m++] = i;
  }
  route.reset();
  const auto t1 = Clock::now();
  const float coarse_us = micros(t0, t1) / static_cast<float>(n);
  for (int i = 0; i < n; ++i) results[i].coarse_us = coarse_us;
  if (m == 0) return;

  // The escalated images as one dense sub-batch; results scattered back to their positions.
  fwd_.fine(images, esc_.data(), m, fine_k_);
  if (profile_) profile_->images[1] += static_cast<uint64_t>(m);
  OpTimer fine_route(profile_, 1, Op::Route);
  for (int e = 0; e < m; ++e)
    keep_cls(base + esc_[e], TRIAGE_ROUTE_FINE, ws_.xf + static_cast<size_t>(e) * cfg_.tokens_fine(fine_k_) * cfg_.D);
  const float fine_us = micros(t1, Clock::now()) / static_cast<float>(m);
  for (int e = 0; e < m; ++e) {
    triage_result& r = results[esc_[e]];
    finish(base + esc_[e], ws_.logits + static_cast<size_t>(e) * ncls, TRIAGE_ROUTE_FINE, r);
    r.tokens += static_cast<uint32_t>(cfg_.tokens_fine(fine_k_));
    r.fine_us = fine_us;
  }
}

void Engine::keep_cls(int i, uint32_t route, const float* row) {
  const size_t D = static_cast<size_t>(cfg_.D);
  std::memcpy(cls_rows_.data() + (2 * static_cast<size_t>(i) + route) * D, row, D * sizeof(float));
  if (route == TRIAGE_ROUTE_COARSE) cls_pass_[i] = 1;  // coarse only so far
  else cls_pass_[i] |= 2;
}

bool Engine::features(size_t index, uint32_t route, float* out, size_t count, Error& err) const {
  if (index >= static_cast<size_t>(last_n_))
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %zu: the last classify call had %d images", index, last_n_);
  if (route > TRIAGE_ROUTE_FINE) return err.set(TRIAGE_E_INVALID_ARGUMENT, "route %u is neither coarse nor fine", route);
  if (count != static_cast<size_t>(cfg_.D))
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "features: count %zu, the model's embed_dim is %d", count, cfg_.D);
  if (!(cls_pass_[index] & (route == TRIAGE_ROUTE_COARSE ? 1 : 2)))
    return err.set(TRIAGE_E_UNSUPPORTED, "image %zu did not run the %s pass", index,
                   route == TRIAGE_ROUTE_COARSE ? "coarse" : "fine");
  // The head's final LayerNorm, by the same kernel its f32 path runs (a q8 head then quantises this row).
  kernels::layernorm_f32(isa_, cls_rows_.data() + (2 * index + route) * count, static_cast<int64_t>(count), 1, cfg_.D,
                         pm_.norm_w, pm_.norm_b, cfg_.ln_eps, out, static_cast<int64_t>(count));
  return true;
}

bool Engine::ood_scores(size_t index, float* out, size_t count, Error& err) const {
  if (index >= static_cast<size_t>(last_n_))
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "image %zu: the last classify call had %d images", index, last_n_);
  if (count != TRIAGE_OOD_SCORES)
    return err.set(TRIAGE_E_INVALID_ARGUMENT, "OOD scores: count %zu, there are %u", count, TRIAGE_OOD_SCORES);
  out[0] = ood_[index];
  out[1] = in_stats_[index].mean;
  out[2] = in_stats_[index].std;
  return true;
}

void Engine::info(triage_model_info& o) const {
  const bool cfvit = cfg_.arch == Arch::CfVit;
  fill_model_info(cfg_, router_, cfg_.labels, o);
  o.isa = kernels::isa_name(isa_);
  o.tokens_fine = static_cast<uint32_t>(cfg_.tokens_fine(fine_k_));
  o.topk = static_cast<uint32_t>(cfvit ? fine_k_ : 0);
  o.threads = opts_.threads;
  o.max_batch = opts_.max_batch;
  o.force = opts_.force;
  o.arena_bytes = arena_bytes_;
  o.weight_bytes = weights_bytes_;
}

}  // namespace triage::rt

// The transformer blocks, the head and preprocessing, shared by every pass.
#include "runtime/forward.h"

namespace triage::rt {

namespace k = triage::kernels;

void Forward::preprocess_rows(const triage_image& img, int S, float* out, int oy0, int oy1, int thread) const {
  const InputSpec& in = cfg_->input;
  k::ResizeNorm rn;
  rn.out_size = S;
  rn.mean = static_cast<float>(in.mean);
  rn.stdev = static_cast<float>(in.std);
  const int h = static_cast<int>(img.height), w = static_cast<int>(img.width), c = static_cast<int>(img.channels);
  float* scratch = ex_.thread_scratch(thread);
  if (img.pixel == TRIAGE_PIXEL_U16) {
    rn.max_value = static_cast<float>(in.max_value_u16);
    k::resize_normalize_u16(ex_.isa, static_cast<const uint16_t*>(img.data), h, w, c,
                            static_cast<int64_t>(img.row_stride / 2), rn, out, oy0, oy1, scratch);
  } else {
    rn.max_value = static_cast<float>(in.max_value_u8);
    k::resize_normalize_u8(ex_.isa, static_cast<const uint8_t*>(img.data), h, w, c,
                           static_cast<int64_t>(img.row_stride), rn, out, oy0, oy1, scratch);
  }
}

void Forward::preprocess(const triage_image* images, const int* idx, int n, int S, float* out) const {
  constexpr int kRows = 8;  // output rows per task
  const int chunks = (S + kRows - 1) / kRows;
  const size_t plane = static_cast<size_t>(S) * S * cfg_->C;
  OpTimer timer(ex_.profile, ex_.pass, Op::Preprocess);
  auto task = [&](int b, int e, int t) {
    for (int i = b; i < e; ++i) {
      const int img = i / chunks, y0 = (i % chunks) * kRows, y1 = y0 + kRows < S ? y0 + kRows : S;
      preprocess_rows(images[idx ? idx[img] : img], S, out + img * plane, y0, y1, t);
    }
  };
  ex_.pool->run(n * chunks, task);
}

void Forward::blocks(float* x, int images, int n, bool rank, int l0, int l1, int probs_at) {
  const ModelConfig& c = *cfg_;
  const Workspace& w = *ws_;
  const int D = c.D, M = images * n, hidden = c.hidden;
  const double md = static_cast<double>(M) * D;  // MACs of a D x D linear over the M rows
  for (int l = l0; l < l1; ++l) {
    const PackedBlock& b = pm_->blocks[l];
    const bool ranked = rank && l >= c.L - c.R;
    // x + Attn(LN1(x))
    {
      OpTimer t(ex_.profile, ex_.pass, Op::LayerNorm);
      run_layernorm(ex_, x, D, M, D, b.ln1_w, b.ln1_b, c.ln_eps, b.qkv.q8, w.act, D, w.act_scale);
    }
    k::GemmEpilogue qkv;
    qkv.bias = b.qkv.bias;
    qkv.y = w.qkv;
    qkv.ldy = 3 * D;
    {
      OpTimer t(ex_.profile, ex_.pass, Op::Qkv, 3 * md * D);
      run_linear(ex_, b.qkv, ActRows{w.act, reinterpret_cast<const int8_t*>(w.act), w.act_scale, D}, M, qkv);
    }
    {  // attention + ranking
      OpTimer ta(ex_.profile, ex_.pass, Op::Attention, 2.0 * images * static_cast<double>(n) * n * D);
      run_attention(ex_, w.qkv, images, n, D, c.H, w.attn, ranked || l == probs_at ? w.cls_probs : nullptr);
      if (ranked) {
        // r[j] += mean over heads of A_h[0, pos(j)]; the first ranked layer starts the sum. With token
        // skipping (every ranking layer runs after the skip) only the kept patches are ranked here.
        const bool first = l == c.L - c.R;
        for (int i = 0; i < images; ++i) {
          float* r = w.scores + static_cast<size_t>(i) * c.Gc;
          const int32_t* pos = c.skips_coarse() ? w.skip + static_cast<size_t>(i) * c.Gc : nullptr;
          const float* p = w.cls_probs + static_cast<size_t>(i) * c.H * n;
          for (int j = 0; j < c.Gc; ++j) {
            const int q = pos ? pos[j] : 1 + j;
            if (q == 0) continue;
            float m = 0;
            for (int h = 0; h < c.H; ++h) m += p[static_cast<size_t>(h) * n + q];
            m /= static_cast<float>(c.H);
            r[j] = first ? m : r[j] + m;
          }
        }
      }
    }
    ActRows o{w.attn, nullptr, nullptr, D};
    if (b.proj.q8) {
      OpTimer t(ex_.profile, ex_.pass, Op::LayerNorm);
      run_quantize(ex_, w.attn, D, M, D, reinterpret_cast<int8_t*>(w.act), D, w.act_scale);
      o = ActRows{nullptr, reinterpret_cast<const int8_t*>(w.act), w.act_scale, D};
    }
    k::GemmEpilogue proj;
    proj.bias = b.proj.bias;
    proj.accumulate = true;
    proj.y = x;
    proj.ldy = D;
    {
      OpTimer t(ex_.profile, ex_.pass, Op::Proj, md * D);
      run_linear(ex_, b.proj, o, M, proj);
    }
    // x + fc2(GELU(fc1(LN2(x))))
    {
      OpTimer t(ex_.profile, ex_.pass, Op::LayerNorm);
      run_layernorm(ex_, x, D, M, D, b.ln2_w, b.ln2_b, c.ln_eps, b.fc1.q8, w.act, D, w.act_scale);
    }
    k::GemmEpilogue fc1;
    fc1.bias = b.fc1.bias;
    fc1.gelu = true;
    if (b.fc2.q8) {
      fc1.yq = reinterpret_cast<int8_t*>(w.hid);
      fc1.ldyq = hidden;
      fc1.yq_scale = w.hid_scale;
    } else {
      fc1.y = w.hid;
      fc1.ldy = hidden;
    }
    {
      OpTimer t(ex_.profile, ex_.pass, Op::Fc1, md * hidden);
      run_linear(ex_, b.fc1, ActRows{w.act, reinterpret_cast<const int8_t*>(w.act), w.act_scale, D}, M, fc1);
    }
    k::GemmEpilogue fc2;
    fc2.bias = b.fc2.bias;
    fc2.accumulate = true;
    fc2.y = x;
    fc2.ldy = D;
    OpTimer t(ex_.profile, ex_.pass, Op::Fc2, md * hidden);
    run_linear(ex_, b.fc2, ActRows{w.hid, reinterpret_cast<const int8_t*>(w.hid), w.hid_scale, hidden}, M, fc2);
  }
}

void Forward::head(const float* x, int images, int n) {
  const ModelConfig& c = *cfg_;
  const Workspace& w = *ws_;
  const int D = c.D;
  OpTimer t(ex_.profile, ex_.pass, Op::Head, static_cast<double>(images) * D * c.ncls());
  run_layernorm(ex_, x, static_cast<int64_t>(n) * D, images, D, pm_->norm_w, pm_->norm_b, c.ln_eps, pm_->head.q8,
                w.act, D, w.act_scale);
  k::GemmEpilogue ep;
  ep.bias = pm_->head.bias;
  ep.y = w.logits;
  ep.ldy = c.ncls();
  run_linear(ex_, pm_->head, ActRows{w.act, reinterpret_cast<const int8_t*>(w.act), w.act_scale, D}, images, ep);
}

}  // namespace triage::rt

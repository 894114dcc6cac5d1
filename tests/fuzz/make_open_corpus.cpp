// Regenerates the committed seeds of corpus/open/ (not run by ctest): small random models of the family
// (tests/runtime/random_model), each dtype, plain ViT, 3 channels, uncalibrated and calibrated router keys.
//   build/tests/fuzz/make_open_corpus tests/fuzz/corpus/open
// cfvit_q8_signed.trw (the signature trailer) is cfvit_q8.trw through `triage sign` with a throw-away key:
//   triage keygen --out /tmp/k && triage sign cfvit_q8.trw --key /tmp/k.key -o cfvit_q8_signed.trw
#include <cstdio>
#include <string>

#include "tests/runtime/random_model.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_open_corpus DIR\n");
    return 2;
  }
  using triage::test::RandomModelSpec;
  struct Seed {
    const char* name;
    RandomModelSpec spec;
  };
  auto tiny = [](RandomModelSpec s) {
    s.Sf = 32; s.P = 8; s.c1 = 4; s.c2 = 8; s.D = 16; s.H = 2; s.L = 2; s.Dr = 8; s.K = 2; s.R = 1; s.ncls = 3;
    return s;
  };
  RandomModelSpec f32 = tiny({}), q8 = tiny({}), f16 = tiny({}), bf16 = tiny({}), vit = tiny({}), rgb = tiny({});
  q8.dtype = "q8"; f16.dtype = "f16"; bf16.dtype = "bf16"; vit.arch = "vit"; rgb.C = 3; rgb.dtype = "q8";
  const Seed seeds[] = {{"cfvit_f32", f32}, {"cfvit_q8", q8}, {"cfvit_f16", f16}, {"cfvit_bf16", bf16},
                        {"vit_f32", vit}, {"cfvit_rgb_q8", rgb}};
  for (const Seed& s : seeds) {
    const auto bytes = triage::test::make_random_model(s.spec);
    const std::string path = std::string(argv[1]) + "/" + s.name + ".trw";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
  }
  return 0;
}

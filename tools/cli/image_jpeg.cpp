// JPEG reader (libjpeg-turbo): baseline, extended and progressive (Huffman or arithmetic), 8-bit,
// gray (1 channel) or YCbCr / RGB colour (decoded to 3-channel RGB). CMYK / YCCK and 12-bit are refused.
// Errors never exit(): error_exit longjmps back here with libjpeg's message. A warning (truncated
// data, corrupt entropy data, bogus progression) is fatal too: an image libjpeg had to patch up is not
// classified. Work memory is capped (max_memory_to_use: progressive coefficient buffers), and so are
// the progressive scans (a progress monitor counts them: a hostile file can hold thousands).
#include <cstdio>  // jpeglib.h needs FILE and size_t first

#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <cstring>

#include "tools/cli/image_common.h"
#include "tools/cli/image_io.h"

namespace triage::cli {
namespace {

struct JpegErrors {
  jpeg_error_mgr mgr;  // first: libjpeg passes &mgr, cast back to JpegErrors
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
};

[[noreturn]] void jpeg_on_error(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  if (!e->message[0]) (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

void jpeg_on_message(j_common_ptr c, int level) {
  if (level >= 0) return;  // trace messages: ignored
  auto* e = reinterpret_cast<JpegErrors*>(c->err);
  char text[JMSG_LENGTH_MAX];
  (*c->err->format_message)(c, text);
  std::snprintf(e->message, sizeof(e->message), "corrupt data (%s)", text);
  std::longjmp(e->jump, 1);
}

void jpeg_on_progress(j_common_ptr c) {
  if (!c->is_decompressor) return;
  const int scan = reinterpret_cast<j_decompress_ptr>(c)->input_scan_number;
  if (scan > kMaxJpegScans) {
    auto* e = reinterpret_cast<JpegErrors*>(c->err);
    std::snprintf(e->message, sizeof(e->message), "more than %d progressive scans", kMaxJpegScans);
    std::longjmp(e->jump, 1);
  }
}

bool size_image(Image& out, uint32_t h, uint32_t w, uint32_t c, char* msg, size_t cap) {
  std::string e;
  if (detail::allocate(out, h, w, c, TRIAGE_PIXEL_U8, e)) return true;
  std::snprintf(msg, cap, "%s", e.c_str());
  return false;
}

// The libjpeg calls. Only plain C data lives in this frame (a longjmp leaves it from inside libjpeg).
bool jpeg_decode(std::span<const uint8_t> file, JpegErrors& jerr, Image& out) {
  jpeg_decompress_struct cinfo;
  std::memset(&cinfo, 0, sizeof cinfo);
  jpeg_progress_mgr progress;
  std::memset(&progress, 0, sizeof progress);
  progress.progress_monitor = jpeg_on_progress;
  volatile bool created = false, ok = false;
  cinfo.err = jpeg_std_error(&jerr.mgr);
  jerr.mgr.error_exit = jpeg_on_error;
  jerr.mgr.emit_message = jpeg_on_message;
  if (setjmp(jerr.jump) == 0) {
    jpeg_create_decompress(&cinfo);
    created = true;
    cinfo.mem->max_memory_to_use = static_cast<long>(kMaxDecoderMemory);
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, file.data(), static_cast<unsigned long>(file.size()));
    jpeg_read_header(&cinfo, TRUE);
    const JDIMENSION w = cinfo.image_width, h = cinfo.image_height;
    uint32_t channels = 0;
    if (cinfo.num_components == 1) {
      cinfo.out_color_space = JCS_GRAYSCALE;
      channels = 1;
    } else if (cinfo.num_components == 3 && (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB)) {
      cinfo.out_color_space = JCS_RGB;
      channels = 3;
    }
    if (channels == 0) {
      std::snprintf(jerr.message, sizeof(jerr.message), "%d-component JPEG (colour space %d) is not supported",
                    cinfo.num_components, static_cast<int>(cinfo.jpeg_color_space));
    } else if (size_image(out, h, w, channels, jerr.message, sizeof(jerr.message))) {
      out.meaning = channels == 1 ? Channels::gray : Channels::rgb;
      jpeg_start_decompress(&cinfo);
      if (cinfo.output_width != w || cinfo.output_height != h || cinfo.output_components != static_cast<int>(channels)) {
        std::snprintf(jerr.message, sizeof(jerr.message), "unexpected JPEG output layout");
      } else {
        while (cinfo.output_scanline < h) {
          JSAMPROW row = out.bytes() + static_cast<size_t>(cinfo.output_scanline) * out.row_stride;
          if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            std::snprintf(jerr.message, sizeof(jerr.message), "no scanline decoded");
            break;
          }
        }
        if (cinfo.output_scanline == h) {
          jpeg_finish_decompress(&cinfo);
          ok = true;
        }
      }
    }
  }
  if (created) jpeg_destroy_decompress(&cinfo);
  return ok;
}

}  // namespace

bool decode_jpeg(std::span<const uint8_t> file, Image& out, std::string& err) {
  if (file.size() < 3 || file[0] != 0xFF || file[1] != 0xD8 || file[2] != 0xFF)
    return detail::fail(err, "not a JPEG file (bad signature)");
  JpegErrors jerr;
  std::memset(&jerr, 0, sizeof jerr);
  if (!jpeg_decode(file, jerr, out))
    return detail::fail(err, std::string("JPEG: ") + (jerr.message[0] ? jerr.message : "cannot decode"));
  return true;
}

}  // namespace triage::cli

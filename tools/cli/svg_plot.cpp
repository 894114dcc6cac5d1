// SVG by hand: a fixed 720x440 canvas, a plot area with ticks, one <path> per series.
#include "tools/cli/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace triage::cli {
namespace {

constexpr double kW = 720, kH = 440, kL = 80, kR = 170, kT = 40, kB = 60;  // canvas and margins

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  return o;
}

std::string num(double v, const char* f = "%.1f") {
  char b[48];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string tick_label(double v) {
  char b[48];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

std::string header(const std::string& title, double w = kW, double h = kH) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(w, "%.0f") + "\" height=\"" + num(h, "%.0f") +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
         "<text x=\"" + num(w / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + esc(title) + "</text>\n";
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double px0 = 0, px1 = 1;  // pixel range
  double map(double v) const {
    const double a = log ? std::log10(v) : v, l = log ? std::log10(lo) : lo, h = log ? std::log10(hi) : hi;
    return px0 + (a - l) / (h - l) * (px1 - px0);
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (log) {
      for (double e = std::floor(std::log10(lo)); e <= std::ceil(std::log10(hi)); e += 1) {
        const double v = std::pow(10.0, e);
        if (v >= lo * 0.999 && v <= hi * 1.001) t.push_back(v);
      }
    } else {
      const double span = hi - lo, raw = span / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
      const double step = raw / mag >= 5 ? 5 * mag : raw / mag >= 2 ? 2 * mag : mag;
      for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(v);
    }
    return t;
  }
};

// Data range of the usable points, widened so that it is never empty.
void range(const std::vector<double>& v, bool log, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  for (double a : v)
    if (std::isfinite(a) && (!log || a > 0)) {
      lo = std::min(lo, a);
      hi = std::max(hi, a);
    }
  if (!(lo <= hi)) lo = log ? 0.1 : 0, hi = 1;
  if (log) {
    lo = std::pow(10.0, std::floor(std::log10(lo)));
    hi = std::pow(10.0, std::ceil(std::log10(hi)));
    if (hi <= lo) hi = lo * 10;
  } else if (hi <= lo) {
    hi = lo + 1;
  }
}

std::string axes(const Axis& x, const Axis& y, const std::string& xlabel, const std::string& ylabel) {
  std::string s = "<rect x=\"" + num(kL) + "\" y=\"" + num(kT) + "\" width=\"" + num(kW - kL - kR) + "\" height=\"" +
                  num(kH - kT - kB) + "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double t : x.ticks()) {
    const double px = x.map(t);
    s += "<line x1=\"" + num(px) + "\" y1=\"" + num(kT) + "\" x2=\"" + num(px) + "\" y2=\"" + num(kH - kB) +
         "\" stroke=\"#ddd\"/><text x=\"" + num(px) + "\" y=\"" + num(kH - kB + 16) + "\" text-anchor=\"middle\">" +
         tick_label(t) + "</text>\n";
  }
  for (double t : y.ticks()) {
    const double py = y.map(t);
    s += "<line x1=\"" + num(kL) + "\" y1=\"" + num(py) + "\" x2=\"" + num(kW - kR) + "\" y2=\"" + num(py) +
         "\" stroke=\"#ddd\"/><text x=\"" + num(kL - 6) + "\" y=\"" + num(py + 4) + "\" text-anchor=\"end\">" +
         tick_label(t) + "</text>\n";
  }
  s += "<text x=\"" + num((kL + kW - kR) / 2) + "\" y=\"" + num(kH - 18) + "\" text-anchor=\"middle\">" + esc(xlabel) +
       "</text>\n<text transform=\"translate(18," + num((kT + kH - kB) / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       esc(ylabel) + "</text>\n";
  return s;
}

std::string legend(const std::vector<Series>& series) {
  std::string s;
  double y = kT + 10;
  for (const Series& se : series) {
    s += "<line x1=\"" + num(kW - kR + 10) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kW - kR + 30) + "\" y2=\"" + num(y) +
         "\" stroke=\"" + esc(se.color) + "\" stroke-width=\"2\"/><text x=\"" + num(kW - kR + 35) + "\" y=\"" +
         num(y + 4) + "\">" + esc(se.name) + "</text>\n";
    y += 18;
  }
  return s;
}

std::string markers_svg(const Axis& x, const std::vector<Marker>& markers) {
  std::string s;
  for (const Marker& m : markers) {
    if (!std::isfinite(m.x) || m.x < x.lo || m.x > x.hi || (x.log && m.x <= 0)) continue;
    const double px = x.map(m.x);
    s += "<line x1=\"" + num(px) + "\" y1=\"" + num(kT) + "\" x2=\"" + num(px) + "\" y2=\"" + num(kH - kB) +
         "\" stroke=\"#888\" stroke-dasharray=\"4 3\"/><text x=\"" + num(px + 3) + "\" y=\"" + num(kT + 12) + "\" fill=\"#555\">" +
         esc(m.label) + "</text>\n";
  }
  return s;
}

}  // namespace

std::string svg_confusion(const std::string& title, const std::vector<std::string>& names, const std::vector<uint64_t>& counts) {
  const size_t k = names.size();
  const double cell = std::max(28.0, std::min(60.0, 520.0 / static_cast<double>(std::max<size_t>(k, 1))));
  const double left = 130, top = 60, w = left + cell * static_cast<double>(k) + 30, h = top + cell * static_cast<double>(k) + 110;
  std::string s = header(title, std::max(w, 360.0), h);
  for (size_t r = 0; r < k; ++r) {
    uint64_t row = 0;
    for (size_t c = 0; c < k; ++c) row += counts[r * k + c];
    for (size_t c = 0; c < k; ++c) {
      const uint64_t v = counts[r * k + c];
      const double f = row ? static_cast<double>(v) / static_cast<double>(row) : 0;  // row-normalised shade
      const int shade = static_cast<int>(255 - 200 * f);
      const std::string fill = r == c ? "rgb(" + std::to_string(shade) + "," + std::to_string(shade) + ",255)"
                                      : "rgb(255," + std::to_string(shade) + "," + std::to_string(shade) + ")";
      const double x = left + cell * static_cast<double>(c), y = top + cell * static_cast<double>(r);
      s += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(cell) + "\" height=\"" + num(cell) +
           "\" fill=\"" + fill + "\" stroke=\"#999\"/><text x=\"" + num(x + cell / 2) + "\" y=\"" + num(y + cell / 2 + 4) +
           "\" text-anchor=\"middle\">" + std::to_string(v) + "</text>\n";
    }
    s += "<text x=\"" + num(left - 6) + "\" y=\"" + num(top + cell * (static_cast<double>(r) + 0.5) + 4) +
         "\" text-anchor=\"end\">" + esc(names[r]) + "</text>\n";
  }
  for (size_t c = 0; c < k; ++c) {
    const double x = left + cell * (static_cast<double>(c) + 0.5), y = top + cell * static_cast<double>(k) + 8;
    s += "<text transform=\"translate(" + num(x) + "," + num(y) + ") rotate(45)\">" + esc(names[c]) + "</text>\n";
  }
  s += "<text x=\"12\" y=\"" + num(top - 8) + "\">rows: true class, columns: decided</text>\n</svg>\n";
  return s;
}

std::string svg_lines(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                      const std::vector<Series>& series, bool log_x, bool log_y, const std::vector<Marker>& markers) {
  std::vector<double> xs, ys;
  for (const Series& se : series) {
    xs.insert(xs.end(), se.x.begin(), se.x.end());
    ys.insert(ys.end(), se.y.begin(), se.y.end());
  }
  Axis x, y;
  x.log = log_x;
  y.log = log_y;
  range(xs, log_x, x.lo, x.hi);
  range(ys, log_y, y.lo, y.hi);
  x.px0 = kL, x.px1 = kW - kR, y.px0 = kH - kB, y.px1 = kT;
  std::string s = header(title) + axes(x, y, xlabel, ylabel) + markers_svg(x, markers);
  for (const Series& se : series) {
    std::string d;
    for (size_t i = 0; i < se.x.size() && i < se.y.size(); ++i) {
      if (!std::isfinite(se.x[i]) || !std::isfinite(se.y[i]) || (log_x && se.x[i] <= 0) || (log_y && se.y[i] <= 0)) continue;
      d += (d.empty() ? "M" : " L") + num(x.map(se.x[i])) + "," + num(y.map(se.y[i]));
    }
    if (!d.empty())
      s += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + esc(se.color) + "\" stroke-width=\"2\"/>\n";
  }
  return s + legend(series) + "</svg>\n";
}

std::string svg_histogram(const std::string& title, const std::string& xlabel, const std::vector<Series>& series, int bins,
                          const std::vector<Marker>& markers) {
  bins = std::clamp(bins, 1, 1000);
  std::vector<double> all;
  for (const Series& se : series) all.insert(all.end(), se.y.begin(), se.y.end());
  Axis x, y;
  range(all, false, x.lo, x.hi);
  x.lo = std::min(x.lo, 0.0);
  const double width = (x.hi - x.lo) / bins;
  std::vector<std::vector<double>> counts;
  double top = 1;
  for (const Series& se : series) {
    std::vector<double>& c = counts.emplace_back(static_cast<size_t>(bins), 0.0);
    for (double v : se.y)
      if (std::isfinite(v)) c[static_cast<size_t>(std::clamp(static_cast<int>((v - x.lo) / width), 0, bins - 1))] += 1;
    for (double v : c) top = std::max(top, v);
  }
  y.lo = 0, y.hi = top * 1.05;
  x.px0 = kL, x.px1 = kW - kR, y.px0 = kH - kB, y.px1 = kT;
  std::string s = header(title) + axes(x, y, xlabel, "images") + markers_svg(x, markers);
  for (size_t k = 0; k < series.size(); ++k) {
    std::string d = "M" + num(x.map(x.lo)) + "," + num(y.map(0));
    for (int b = 0; b < bins; ++b) {
      const double x0 = x.map(x.lo + width * b), x1 = x.map(x.lo + width * (b + 1)), py = y.map(counts[k][static_cast<size_t>(b)]);
      d += " L" + num(x0) + "," + num(py) + " L" + num(x1) + "," + num(py);
    }
    d += " L" + num(x.map(x.hi)) + "," + num(y.map(0));
    s += "<path d=\"" + d + "\" fill=\"" + esc(series[k].color) + "\" fill-opacity=\"0.25\" stroke=\"" + esc(series[k].color) +
         "\" stroke-width=\"1.5\"/>\n";
  }
  return s + legend(series) + "</svg>\n";
}

std::string svg_bars(const std::string& title, const std::vector<std::string>& categories, const std::string& ylabel,
                     const std::vector<Bars>& bars) {
  const size_t k = categories.size(), nb = std::max<size_t>(bars.size(), 1);
  const double group = std::max(48.0, 14.0 * static_cast<double>(nb) + 16), plot_h = 260, left = 70, top = 50;
  const double w = std::max(kW, left + group * static_cast<double>(k) + 150);
  const double table_top = top + plot_h + 70, row_h = 18;
  const double h = table_top + row_h * static_cast<double>(bars.size() + 1) + 20;
  std::string s = header(title, w, h);
  const double x0 = left, x1 = left + group * static_cast<double>(k), y0 = top + plot_h, y1 = top;
  s += "<rect x=\"" + num(x0) + "\" y=\"" + num(y1) + "\" width=\"" + num(x1 - x0) + "\" height=\"" + num(plot_h) +
       "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (int t = 0; t <= 5; ++t) {
    const double v = t / 5.0, py = y0 - v * plot_h;
    s += "<line x1=\"" + num(x0) + "\" y1=\"" + num(py) + "\" x2=\"" + num(x1) + "\" y2=\"" + num(py) +
         "\" stroke=\"#ddd\"/><text x=\"" + num(x0 - 6) + "\" y=\"" + num(py + 4) + "\" text-anchor=\"end\">" +
         tick_label(v) + "</text>\n";
  }
  s += "<text transform=\"translate(18," + num(top + plot_h / 2) + ") rotate(-90)\" text-anchor=\"middle\">" + esc(ylabel) +
       "</text>\n";
  const double bw = (group - 16) / static_cast<double>(nb);
  for (size_t c = 0; c < k; ++c) {
    const double gx = x0 + group * static_cast<double>(c) + 8;
    for (size_t b = 0; b < bars.size(); ++b) {
      const double v = c < bars[b].values.size() && std::isfinite(bars[b].values[c]) ? std::clamp(bars[b].values[c], 0.0, 1.0) : 0;
      s += "<rect x=\"" + num(gx + bw * static_cast<double>(b)) + "\" y=\"" + num(y0 - v * plot_h) + "\" width=\"" +
           num(std::max(1.0, bw - 1)) + "\" height=\"" + num(v * plot_h) + "\" fill=\"" + esc(bars[b].color) + "\"/>\n";
    }
    s += "<text transform=\"translate(" + num(gx + (group - 16) / 2) + "," + num(y0 + 12) + ") rotate(30)\">" +
         esc(categories[c]) + "</text>\n";
  }
  double ly = top + 10;
  for (const Bars& b : bars) {
    s += "<rect x=\"" + num(x1 + 14) + "\" y=\"" + num(ly - 9) + "\" width=\"14\" height=\"10\" fill=\"" + esc(b.color) +
         "\"/><text x=\"" + num(x1 + 34) + "\" y=\"" + num(ly) + "\">" + esc(b.name) + "</text>\n";
    ly += 18;
  }
  // The table: a header row of categories, then one row per Bars.
  const double col0 = left + 60;
  for (size_t c = 0; c < k; ++c)
    s += "<text x=\"" + num(col0 + group * (static_cast<double>(c) + 0.5)) + "\" y=\"" + num(table_top) +
         "\" text-anchor=\"middle\" font-size=\"10\">" + esc(categories[c]) + "</text>\n";
  for (size_t b = 0; b < bars.size(); ++b) {
    const double ry = table_top + row_h * static_cast<double>(b + 1);
    s += "<text x=\"" + num(col0 - 6) + "\" y=\"" + num(ry) + "\" text-anchor=\"end\">" + esc(bars[b].name) + "</text>\n";
    for (size_t c = 0; c < k && c < bars[b].values.size(); ++c)
      s += "<text x=\"" + num(col0 + group * (static_cast<double>(c) + 0.5)) + "\" y=\"" + num(ry) +
           "\" text-anchor=\"middle\">" + num(100 * bars[b].values[c]) + "%</text>\n";
  }
  return s + "</svg>\n";
}

}  // namespace triage::cli

// Small hand-written SVG charts for `triage eval --plots`: a confusion-matrix heat map, line charts
// (linear or log axes) and a histogram. Text from outside (class names) is XML-escaped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace triage::cli {

struct Series {
  std::string name;
  std::vector<double> x, y;  // points with y <= 0 are skipped on a log y axis
  std::string color;         // CSS color
};

struct Bars {  // one value per category, drawn as one bar in each category's group
  std::string name;
  std::vector<double> values;  // in [0, 1] (rates); values outside are clamped
  std::string color;
};

struct Marker {  // a vertical line at x with a label
  double x = 0;
  std::string label;
};

// counts[r * cols + c]; rows = true class, columns = decided class.
std::string svg_confusion(const std::string& title, const std::vector<std::string>& names,
                          const std::vector<uint64_t>& counts);

std::string svg_lines(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                      const std::vector<Series>& series, bool log_x, bool log_y, const std::vector<Marker>& markers = {});

std::string svg_histogram(const std::string& title, const std::string& xlabel, const std::vector<Series>& series,
                          int bins, const std::vector<Marker>& markers = {});

// Grouped bar chart of rates (y axis 0..1): one group per category, one bar per Bars, and under the
// chart a table with every value in percent (the numbers, not only the bars).
std::string svg_bars(const std::string& title, const std::vector<std::string>& categories, const std::string& ylabel,
                     const std::vector<Bars>& bars);

}  // namespace triage::cli

// The ADC report (see adc_report.h).
#include "tools/cli/adc_report.h"

#include <algorithm>
#include <cstdio>

#include "tools/cli/svg_plot.h"
#include "tools/cli/text.h"

namespace triage::cli {
namespace {

double ratio(uint64_t k, uint64_t n) { return n ? static_cast<double>(k) / static_cast<double>(n) : 0.0; }

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * v);
  return b;
}

}  // namespace

AdcReport adc_report(const std::string& column, const std::vector<std::string>& names, const std::vector<int>& manual,
                     const std::vector<int>& decided, const std::vector<uint8_t>& rejected) {
  AdcReport r;
  r.column = column;
  const int k = static_cast<int>(names.size());
  r.classes.resize(names.size());
  for (size_t c = 0; c < names.size(); ++c) r.classes[c].name = names[c];
  const size_t n = std::min({manual.size(), decided.size(), rejected.size()});
  for (size_t i = 0; i < n; ++i) {
    const int m = manual[i], d = decided[i];
    if (m < 0 || m >= k || d < 0 || d >= k) continue;
    ++r.total;
    ++r.classes[m].manual;
    ++r.classes[d].automatic;
    const bool right = m == d, rej = rejected[i] != 0;
    r.classes[m].correct += right;
    r.classes[m].rejected += rej;
    r.correct += right;
    r.rejected += rej;
    r.accepted += !rej;
    r.accepted_correct += !rej && right;
  }
  double sum_acc = 0, sum_pur = 0;
  int n_acc = 0, n_pur = 0;
  for (AdcClass& c : r.classes) {
    c.accuracy = ratio(c.correct, c.manual);
    c.purity = ratio(c.correct, c.automatic);
    c.rejection = ratio(c.rejected, c.manual);
    c.contribution = ratio(c.manual, r.total);
    if (c.manual) sum_acc += c.accuracy, ++n_acc;
    if (c.automatic) sum_pur += c.purity, ++n_pur;
  }
  r.accuracy = ratio(r.correct, r.total);
  r.rejection = ratio(r.rejected, r.total);
  r.accepted_accuracy = ratio(r.accepted_correct, r.accepted);
  r.mean_accuracy = n_acc ? sum_acc / n_acc : 0;
  r.mean_purity = n_pur ? sum_pur / n_pur : 0;
  return r;
}

nlohmann::ordered_json adc_report_json(const AdcReport& r) {
  nlohmann::ordered_json classes = nlohmann::ordered_json::object();
  for (const AdcClass& c : r.classes)
    classes[c.name] = {{"manual", c.manual},       {"auto", c.automatic},   {"correct", c.correct},
                       {"rejected", c.rejected},   {"accuracy", c.accuracy}, {"purity", c.purity},
                       {"rejection_rate", c.rejection}, {"contribution", c.contribution}};
  return {{"manual_column", r.column},
          {"defects", r.total},
          {"correct", r.correct},
          {"accuracy", r.accuracy},
          {"rejected", r.rejected},
          {"rejection_rate", r.rejection},
          {"accepted", r.accepted},
          {"accepted_accuracy", r.accepted_accuracy},
          {"mean_class_accuracy", r.mean_accuracy},
          {"mean_class_purity", r.mean_purity},
          {"classes", classes}};
}

std::string adc_report_text(const AdcReport& r) {
  std::string out;
  char b[512];
  std::snprintf(b, sizeof b,
                "ADC report   manual class column '%s': %llu defects, accuracy %s, rejected to review %s (%llu), "
                "accuracy of the accepted %s, mean class accuracy %s, mean class purity %s\n",
                printable(r.column).c_str(), static_cast<unsigned long long>(r.total), pct(r.accuracy).c_str(),
                pct(r.rejection).c_str(), static_cast<unsigned long long>(r.rejected), pct(r.accepted_accuracy).c_str(),
                pct(r.mean_accuracy).c_str(), pct(r.mean_purity).c_str());
  out += b;
  std::snprintf(b, sizeof b, "  %-18s %7s %7s %8s %9s %9s %9s %12s\n", "class", "manual", "auto", "correct", "accuracy",
                "purity", "rejected", "contribution");
  out += b;
  for (const AdcClass& c : r.classes) {
    std::snprintf(b, sizeof b, "  %-18s %7llu %7llu %8llu %9s %9s %9s %12s\n", printable(c.name).substr(0, 64).c_str(),
                  static_cast<unsigned long long>(c.manual), static_cast<unsigned long long>(c.automatic),
                  static_cast<unsigned long long>(c.correct), c.manual ? pct(c.accuracy).c_str() : "-",
                  c.automatic ? pct(c.purity).c_str() : "-", c.manual ? pct(c.rejection).c_str() : "-",
                  pct(c.contribution).c_str());
    out += b;
  }
  return out;
}

std::string adc_report_svg(const AdcReport& r, const std::string& title) {
  std::vector<std::string> names;
  Bars acc{"accuracy", {}, "#2e86c1"}, pur{"purity", {}, "#27ae60"}, rej{"rejection", {}, "#c0392b"},
      con{"contribution", {}, "#7f8c8d"};
  for (const AdcClass& c : r.classes) {
    names.push_back(c.name);
    acc.values.push_back(c.accuracy);
    pur.values.push_back(c.purity);
    rej.values.push_back(c.rejection);
    con.values.push_back(c.contribution);
  }
  return svg_bars(title, names, "rate", {acc, pur, rej, con});
}

}  // namespace triage::cli

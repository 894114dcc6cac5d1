// The ADC report a fab reads (`triage eval --manual-column NAME`): the automatic classification set
// against the engineer's manual one, per class:
//   accuracy     = correct / manual count   (of the defects the engineer put in the class, how many ADC
//                                             put there too)
//   purity       = correct / auto count     (of the defects ADC put in the class, how many belong there)
//   rejection    = rejected / manual count  (defects of the class ADC sent to a human: review flag set)
//   contribution = manual count / all       (the class's share of all defects)
// plus the overall accuracy, the rejection rate, the accuracy of the accepted (not rejected) decisions
// and the mean per-class accuracy and purity.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace triage::cli {

struct AdcClass {
  std::string name;
  uint64_t manual = 0, automatic = 0, correct = 0, rejected = 0;
  double accuracy = 0, purity = 0, rejection = 0, contribution = 0;  // 0 where the denominator is 0
};

struct AdcReport {
  std::string column;  // the manual-classification column
  std::vector<AdcClass> classes;
  uint64_t total = 0, correct = 0, rejected = 0, accepted = 0, accepted_correct = 0;
  double accuracy = 0, rejection = 0, accepted_accuracy = 0;
  double mean_accuracy = 0, mean_purity = 0;  // over the classes with a manual / an auto count
};

// manual[i] and decided[i]: class indexes (into names) of defect i; rejected[i]: its review flag.
// The three vectors have one entry per defect; indexes outside names are not counted.
AdcReport adc_report(const std::string& column, const std::vector<std::string>& names, const std::vector<int>& manual,
                     const std::vector<int>& decided, const std::vector<uint8_t>& rejected);

nlohmann::ordered_json adc_report_json(const AdcReport& r);
// A header line and one table row per class, each line ending in '\n'.
std::string adc_report_text(const AdcReport& r);
// Bars per class: accuracy, purity, rejection, contribution.
std::string adc_report_svg(const AdcReport& r, const std::string& title);

}  // namespace triage::cli

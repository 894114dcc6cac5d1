// Printing names and messages that come from outside input: control bytes become '?', so a hostile
// file cannot break a one-line error or send escape sequences to the terminal.
#pragma once

#include <string>
#include <string_view>

namespace triage::cli {

inline std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

}  // namespace triage::cli

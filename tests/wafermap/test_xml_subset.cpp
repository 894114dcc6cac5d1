// The bounded XML subset reader under the E142 reader: the event sequence, decoding, line numbers.
#include <gtest/gtest.h>

#include "tools/cli/xml_subset.h"

namespace triage::test {
namespace {

using cli::xml::Event;

std::string events(const std::string& doc, std::string* error = nullptr) {
  cli::xml::Reader r(doc);
  Event ev;
  std::string out, err;
  for (int guard = 0; guard < 1000; ++guard) {
    if (!r.next(ev, err)) {
      if (error) *error = err;
      return out + "ERROR";
    }
    switch (ev.kind) {
      case Event::Open:
        out += '<';
        out += ev.name;
        for (const auto& a : ev.attributes) out.append(" ").append(a.name).append("=").append(a.value);
        out.append("@").append(std::to_string(ev.line)).append(">");
        break;
      case Event::Close: out += "</" + ev.name + ">"; break;
      case Event::Text: out += "[" + ev.text + "]"; break;
      case Event::End: return out;
    }
  }
  return out + "LOOP";
}

TEST(XmlSubset, Events) {
  EXPECT_EQ(events("<?xml version='1.0'?>\n<!-- c -->\n<a:Root xmlns:a='u' k=\"v&lt;1\tx\">t&amp;<b/><![CDATA[<raw>]]></a:Root>\n"),
            "<Root a=u k=v<1 x@3>[t&]<b@3></b>[<raw>]</Root>");
  EXPECT_EQ(events("<r>\n<s a='1'\n   b='2'/>\n<t>x</t ></r>"), "<r@1>[\n]<s a=1 b=2@2></s>[\n]<t@4>[x]</t></r>");
  EXPECT_EQ(events("<r>&#65;&#x42;&#x20AC;</r>"), "<r@1>[AB\xE2\x82\xAC]</r>");
}

TEST(XmlSubset, ErrorsSayTheLine) {
  std::string err;
  EXPECT_EQ(events("<r>\n\n<s></r>", &err), "<r@1>[\n\n]<s@3>ERROR");
  EXPECT_EQ(err, "line 3: end tag </r> does not close <s>");
  events("<r a='1'b='2'/>", &err);
  EXPECT_EQ(err, "line 1: attributes of <r> must be separated by whitespace");
  events(std::string("<r>\x01</r>"), &err);
  EXPECT_EQ(err, "line 1: control byte 1 in text");
  events("<" + std::string(300, 'n') + "/>", &err);
  EXPECT_EQ(err, "line 1: name longer than 256 bytes");
  std::string many = "<r";
  for (int i = 0; i < 65; ++i) many += " a" + std::to_string(i) + "='x'";
  events(many + "/>", &err);
  EXPECT_EQ(err, "line 1: more than 64 attributes on <r>");
  events("</r>", &err);
  EXPECT_EQ(err, "line 1: end tag without a start tag");
  events("<r>&amp</r>", &err);
  EXPECT_EQ(err, "line 1: '&' without an entity or character reference");
  events("<r>&a\nb;</r>", &err);  // quoted bytes stay on one line (found by fuzz_e142)
  EXPECT_EQ(err, "line 1: unknown entity '&a?b;' (DTD entities are not read)");
  events("<r>&#xD800;</r>", &err);
  EXPECT_EQ(err, "line 1: character reference to an invalid code point");
}

}  // namespace
}  // namespace triage::test

#!/usr/bin/env python3
"""Writes the wafer map samples of tests/wafermap/samples/ (one synthetic 31 x 33 die map, written three
ways: .npy as the model reads it, SINF with the flat at the top, SEMI E142 with the notch at 90 degrees)
and the seeds of tests/fuzz/corpus/{sinf,e142}/. Synthetic: a disc of dies, a failing centre cluster and
scattered failing dies from a fixed LCG; no third-party data. Standard library only.

  python3 tests/wafermap/make_samples.py
"""
import os
import struct

ROWS, COLS = 31, 33
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Lcg:
    def __init__(self, seed):
        self.s = seed

    def next(self, n):
        self.s = (self.s * 1103515245 + 12345) % (1 << 31)
        return (self.s >> 8) % n


def final_grid():
    """0 no die, 1 pass, 2 fail, the notch at the bottom (what every format must decode to)."""
    rnd = Lcg(13)
    g = [[0] * COLS for _ in range(ROWS)]
    cy, cx = (ROWS - 1) / 2, (COLS - 1) / 2
    for r in range(ROWS):
        for c in range(COLS):
            if ((r - cy) / (ROWS / 2)) ** 2 + ((c - cx) / (COLS / 2)) ** 2 > 1:
                continue
            centre = ((r - cy) ** 2 + (c - cx) ** 2) ** 0.5 < 5
            g[r][c] = 2 if centre or rnd.next(100) < 4 else 1
    g[ROWS - 1][COLS // 2] = 0  # the notch
    g[ROWS - 2][COLS // 2] = 0
    return g


def rot_ccw(g):
    rows, cols = len(g), len(g[0])
    n = [[0] * rows for _ in range(cols)]
    for r in range(rows):
        for c in range(cols):
            n[cols - 1 - c][r] = g[r][c]
    return n


def turned(g, quarter_turns_ccw):
    for _ in range(quarter_turns_ccw % 4):
        g = rot_ccw(g)
    return g


def npy(g):
    rows, cols = len(g), len(g[0])
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(v for row in g for v in row)


def sinf(g):
    """FNLOC:0 (flat at the top): stored turned twice; the reader turns it back."""
    s = turned(g, 2)
    rnd = Lcg(7)
    pas, fail = ["01", "02"], ["0B", "1F", "3C"]
    lines = ["DEVICE:TRIAGE-SAMPLE", "LOT:SYN0001", "WAFER:07", "FNLOC:0",
             "ROWCT:%d" % len(s), "COLCT:%d" % len(s[0]), "BCEQU:01 02", "DUTMS:mm",
             "XDIES:4.500", "YDIES:4.200"]
    for r, row in enumerate(s):
        toks = []
        for c, v in enumerate(row):
            if v == 0:
                toks.append("@@" if (r, c) == (0, 0) else "__")
            elif v == 1:
                toks.append(pas[rnd.next(2)])
            else:
                toks.append(fail[rnd.next(3)])
        lines.append("RowData:" + " ".join(toks))
    return ("\r\n".join(lines) + "\r\n").encode()


def e142(g, bin_type="Ascii"):
    """Orientation 90 (notch on the left, clockwise from the bottom): stored turned three times
    counter-clockwise; the reader turns it once more."""
    s = turned(g, 3)
    rnd = Lcg(11)
    rows, cols = len(s), len(s[0])
    if bin_type == "Ascii":
        null, pas, fail, width = ".", ["1", "2"], ["X", "Y"], 1
        defs = [("1", "Pass"), ("2", "Pass"), ("X", "Fail"), ("Y", "Fail"), ("S", "Skip")]
    else:  # HexaDecimal
        null, pas, fail, width = "FF", ["01", "02"], ["3A", "7F"], 2
        defs = [("01", "Pass"), ("02", "Pass"), ("3A", "Fail"), ("7F", "Fail"), ("EE", "Skip")]
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<!-- synthetic SEMI E142 substrate map written by tests/wafermap/make_samples.py -->',
           '<MapData xmlns="urn:semi-org:xsd.E142-1.V1005.SubstrateMap">',
           '  <Layouts>',
           '    <Layout LayoutId="WaferMap" DefaultUnits="mm" TopLevel="true">',
           '      <Dimension X="1" Y="1"/>',
           '      <ChildLayouts><ChildLayout LayoutId="Die"/></ChildLayouts>',
           '    </Layout>',
           '    <Layout LayoutId="Die" DefaultUnits="mm">',
           '      <Dimension X="%d" Y="%d"/>' % (cols, rows),
           '      <StepSize X="4.200" Y="4.500" Units="mm"/>',
           '    </Layout>',
           '  </Layouts>',
           '  <Substrates>',
           '    <Substrate SubstrateType="Wafer" SubstrateId="SYN0001-07"><LotId>SYN0001</LotId></Substrate>',
           '  </Substrates>',
           '  <SubstrateMaps>',
           '    <SubstrateMap SubstrateType="Wafer" SubstrateId="SYN0001-07" LayoutSpecifier="WaferMap/Die"',
           '                  Orientation="90" OriginLocation="UpperLeft" AxisDirection="DownRight">',
           '      <Overlay MapName="SortGrade" MapVersion="1">',
           '        <BinCodeMap BinType="%s" NullBin="%s" MapType="2DArray">' % (bin_type, null),
           '          <BinDefinitions>']
    for code, q in defs:
        out.append('            <BinDefinition BinCode="%s" BinQuality="%s" BinDescription="bin %s"/>' % (code, q, code))
    out.append('          </BinDefinitions>')
    for r, row in enumerate(s):
        codes = []
        for c, v in enumerate(row):
            if v == 0:
                codes.append(defs[4][0] if (r, c) == (0, 0) else null)
            elif v == 1:
                codes.append(pas[rnd.next(2)])
            else:
                codes.append(fail[rnd.next(2)])
        out.append('          <BinCode>%s</BinCode>' % "".join(codes))
    out += ['        </BinCodeMap>', '      </Overlay>', '    </SubstrateMap>', '  </SubstrateMaps>', '</MapData>', '']
    assert all(len(c) == width for c in pas + fail)
    return "\n".join(out).encode()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    g = final_grid()
    s = os.path.join(HERE, "samples")
    write(os.path.join(s, "synthetic_center.npy"), npy(g))
    write(os.path.join(s, "synthetic_center.sinf"), sinf(g))
    write(os.path.join(s, "synthetic_center.xml"), e142(g))
    write(os.path.join(s, "synthetic_center_hex.e142"), e142(g, "HexaDecimal"))
    write(os.path.join(ROOT, "tests/fuzz/corpus/sinf/synthetic_center.sinf"), sinf(g))
    write(os.path.join(ROOT, "tests/fuzz/corpus/e142/synthetic_center.xml"), e142(g))
    write(os.path.join(ROOT, "tests/fuzz/corpus/e142/synthetic_center_hex.xml"), e142(g, "HexaDecimal"))


if __name__ == "__main__":
    main()

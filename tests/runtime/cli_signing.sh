#!/usr/bin/env bash
# `triage keygen` / `sign` / `inspect --public-key` / `run --public-key` end to end on a shipped model:
# the signed file decides as the unsigned one, is accepted with its key and refused with another, and
# no command overwrites an existing key or its input.
# usage: cli_signing.sh TRIAGE MODEL.trw SAMPLES_DIR WORK_DIR
set -euo pipefail
cli=$1 model=$2 samples=$3 work=$4
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
"$cli" keygen --out "$work/fab" | grep -q "^key id [0-9a-f]\{16\}: " || fail "keygen output"
[ "$(stat -c %a "$work/fab.key")" = 600 ] || fail "secret key file is not mode 0600"
"$cli" keygen --out "$work/other" > /dev/null
if "$cli" keygen --out "$work/fab" 2> "$work/err"; then fail "keygen overwrote a key"; fi
grep -q "never overwritten" "$work/err" || fail "keygen refusal message: $(cat "$work/err")"
id=$(awk '{print substr($2, 1, 16)}' "$work/fab.pub")
"$cli" sign "$model" --key "$work/fab.key" -o "$work/signed.trw" | grep -q "key id $id" || fail "sign output"
[ $(( $(stat -c %s "$work/signed.trw") - $(stat -c %s "$model") )) -eq 128 ] || fail "trailer is not 128 bytes"
if "$cli" sign "$work/signed.trw" --key "$work/fab.key" -o "$work/twice.trw" 2> "$work/err"; then fail "signed a signed file"; fi
grep -q "already signed" "$work/err" || fail "re-sign message"
if "$cli" sign "$work/signed.trw" --key "$work/fab.pub" -o "$work/x.trw" 2> /dev/null; then fail "signed with a public key"; fi
cp "$model" "$work/in.trw"
if "$cli" sign "$work/in.trw" --key "$work/fab.key" -o "$work/in.trw" 2> /dev/null; then fail "sign overwrote its input"; fi
cmp -s "$model" "$work/in.trw" || fail "input changed"
# inspect: the signer's id, verified; the required key's verdict
"$cli" inspect "$work/signed.trw" --public-key "$work/fab.pub" > "$work/inspect.txt" || fail "inspect with its key"
grep -q "^signature   Ed25519 by key id $id .*verifies over every byte" "$work/inspect.txt" || fail "inspect signature line"
grep -q "this file is signed by it" "$work/inspect.txt" || fail "inspect required-key line"
if "$cli" inspect "$work/signed.trw" --public-key "$work/other.pub" > /dev/null 2> "$work/err"; then fail "inspect accepted another key"; fi
grep -q "SIGNATURE\|not by the required key" "$work/err" || fail "inspect other-key message: $(cat "$work/err")"
"$cli" inspect "$model" | grep -q "^signature   none" || fail "inspect of the unsigned file"
"$cli" inspect "$work/signed.trw" --json | grep -q "\"key_id\":\"$id\"" || fail "inspect --json key_id"
# a byte changed in the data section: inspect calls it invalid, run refuses it with the key
python3 - "$work/signed.trw" "$work/tampered.trw" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[len(b) // 2] ^= 1; open(sys.argv[2], 'wb').write(b)
PY
if "$cli" inspect "$work/tampered.trw" > /dev/null 2>&1; then fail "inspect accepted a tampered file"; fi
# run: same decisions signed / unsigned; with the key accepted; other key, unsigned, tampered refused
"$cli" run "$model" "$samples" | awk '$1 != "summary:" {print $1, $2, $3, $4, $5}' > "$work/plain.out"
"$cli" run "$work/signed.trw" "$samples" --public-key "$work/fab.pub" | awk '$1 != "summary:" {print $1, $2, $3, $4, $5}' > "$work/signed.out"
diff -u "$work/plain.out" "$work/signed.out" || fail "signed model decides differently"
for bad in "$work/signed.trw:$work/other.pub" "$model:$work/fab.pub" "$work/tampered.trw:$work/fab.pub"; do
  f=${bad%%:*} k=${bad##*:}
  if "$cli" run "$f" "$samples" --public-key "$k" > /dev/null 2> "$work/err"; then fail "run accepted $f with $k"; fi
  grep -q "(SIGNATURE)" "$work/err" || fail "run refusal of $f: $(cat "$work/err")"
done
echo "PASS: keygen, sign, inspect, run --public-key ($(wc -l < "$work/plain.out") samples, key id $id)"

#!/usr/bin/env bash
# Fresh-machine check: debootstraps a minimal Debian 12 (bookworm) into a folder, puts a clean clone of
# this repository's HEAD in it (and ../shared, read-only, where CI has it), and runs the README's two
# commands inside (chroot), each from the same fresh root, reporting each one's exit status and time.
# A green CI run on a used machine can hide a missing install step; this cannot.
#
#   sudo tools/fresh-machine-check.sh [--root DIR] [--keep] [--only main|test]
#
# Needs root (debootstrap, chroot, mounts), Debian's debootstrap, and the package registries the host
# reaches (the host's CA certificates, pip settings and apt settings are copied in, so a TLS-intercepting
# proxy that the host trusts works inside too). The bootstrapped base is cached in DIR.base (reused when
# present: delete it to re-bootstrap); every run starts from a fresh copy of it. Logs: DIR.logs/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# The commit checked, pinned at the start: HEAD may move while the check runs (an hour and more), and
# both commands must run on the same commit, the one the report names.
commit=$(git -C "$repo" rev-parse HEAD)
started=$(date -u +%Y-%m-%dT%H:%MZ)
root=/tmp/triage-fresh
keep=0
only=""
while (($#)); do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--root DIR] [--keep] [--only main|test]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-check: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "fresh-machine-check: apt-get install debootstrap" >&2; exit 2; }
base=$root.base
logs=$root.logs
mkdir -p "$logs"

if [ ! -f "$base/.complete" ]; then
  echo "fresh-machine-check: debootstrap bookworm (minbase) -> $base"
  rm -rf "$base"
  t0=$(date +%s)
  debootstrap --variant=minbase bookworm "$base" http://deb.debian.org/debian >"$logs/debootstrap.log" 2>&1 \
    || { echo "debootstrap failed: $logs/debootstrap.log" >&2; tail -n 20 "$logs/debootstrap.log" >&2; exit 1; }
  # bookworm-updates and security, like a normal Debian 12 install
  cat >"$base/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  touch "$base/.complete"
  echo "fresh-machine-check: bootstrapped in $(( $(date +%s) - t0 )) s"
fi

mounted=()
cleanup() {
  local k
  for ((k = ${#mounted[@]} - 1; k >= 0; k--)); do umount -l "${mounted[$k]}" 2>/dev/null || true; done
  mounted=()
}
trap cleanup EXIT

fresh_root() {  # $1: target; a fresh copy of the base with the host's network trust and the repo
  local r=$1
  cleanup
  rm -rf "$r"
  cp -a "$base" "$r"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  mkdir -p "$r/etc/ssl/certs" "$r/usr/local/share/ca-certificates"
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt"
  cp -r /usr/local/share/ca-certificates/. "$r/usr/local/share/ca-certificates/" 2>/dev/null || true
  [ -f /etc/pip.conf ] && cp /etc/pip.conf "$r/etc/pip.conf"
  for f in /etc/apt/apt.conf.d/99artifact-registry /etc/apt/apt.conf.d/*proxy*; do
    [ -f "$f" ] && cp "$f" "$r/etc/apt/apt.conf.d/"
  done
  mkdir -p "$r/work"
  git clone -q --no-hardlinks "$repo" "$r/work/main"
  git -C "$r/work/main" checkout -q "$commit"
  if [ -d "$repo/../shared" ]; then
    mkdir -p "$r/work/shared"
    mount --bind "$repo/../shared" "$r/work/shared"; mounted+=("$r/work/shared")
    mount -o remount,bind,ro "$r/work/shared" 2>/dev/null || true
  fi
  mount -t proc proc "$r/proc"; mounted+=("$r/proc")
  mount --rbind /dev "$r/dev"; mount --make-rslave "$r/dev"; mounted+=("$r/dev")
  mount -t sysfs sys "$r/sys"; mounted+=("$r/sys")
  mount -t tmpfs tmpfs "$r/tmp"; mounted+=("$r/tmp")
}

# The README's two commands, read from the README itself (its first code block).
mapfile -t cmds < <(awk '/^```sh/{f=1; next} /^```/{if(f) exit} f' "$repo/README.md" | sed 's/ *#.*$//' | grep -v '^$')
((${#cmds[@]} == 2)) || { echo "fresh-machine-check: the README's first code block must hold 2 commands" >&2; exit 1; }
names=(main test)
status=0
summary=()
for i in 0 1; do
  name=${names[$i]}
  [ -z "$only" ] || [ "$only" = "$name" ] || continue
  r=$root.$name
  fresh_root "$r"
  echo "fresh-machine-check: [$name] ${cmds[$i]}  (log: $logs/$name.log)"
  t0=$(date +%s)
  set +e
  env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    chroot "$r" /bin/bash -c "cd /work/main && ${cmds[$i]}" >"$logs/$name.log" 2>&1
  rc=$?
  set -e
  dt=$(( $(date +%s) - t0 ))
  tail -n 8 "$logs/$name.log" | sed "s/^/  [$name] /"
  summary+=("$name: exit $rc in ${dt} s  (${cmds[$i]})")
  ((rc == 0)) || status=1
  cleanup
  ((keep)) || rm -rf "$r"
done
echo "== fresh-machine-check (Debian 12 minbase, started $started, commit ${commit:0:7}) =="
printf '%s\n' "${summary[@]}"
exit $status

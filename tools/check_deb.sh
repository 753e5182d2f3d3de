#!/usr/bin/env bash
# Checks the .deb that tools/package.sh built, on this machine, as a user would meet it:
#   1. dpkg -i into the system; every file in place (binary, desktop entry, icons of every
#      hicolor size, the ONNX MIME type, licences), the desktop entry valid, *.onnx known as
#      application/x-onnx and camlens offered for it and for images ("Open with");
#   2. the desktop entry's Exec line started under a virtual X display (Xvfb): the window
#      explains the sample photos: the first heatmap arrives (the app's log says so) and a
#      screenshot of the window holds the jet colour map's colours (target/packages/app.png);
#   3. dpkg -r and dpkg -P remove every file it installed.
# Needs root or sudo; installs xvfb, imagemagick and desktop-file-utils where missing.
#
#   tools/package.sh deb && tools/check_deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
OUT="${CARGO_TARGET_DIR:-$PWD/target}/packages"
DEB="$(ls "$OUT"/camlens_*.deb)"
fail() { echo "check_deb: FAIL: $*" >&2; exit 1; }

need=()
command -v Xvfb >/dev/null || need+=(xvfb xauth)
command -v import >/dev/null || need+=(imagemagick)
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
command -v file >/dev/null || need+=(file)
# The package's own Depends, so that dpkg -i (which installs none) finds them.
deps="$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g')"
for d in $deps mesa-vulkan-drivers shared-mime-info; do dpkg -s "$d" >/dev/null 2>&1 || need+=("$d"); done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 1. Install.
$SUDO dpkg -r camlens >/dev/null 2>&1 || true
$SUDO dpkg -i "$DEB"
files="$(dpkg -L camlens)"
for f in /usr/bin/camlens /usr/share/applications/camlens.desktop \
         /usr/share/mime/packages/camlens.xml /usr/share/icons/hicolor/scalable/apps/camlens.svg \
         /usr/share/doc/camlens/LICENSE-MIT /usr/share/doc/camlens/LICENSE-APACHE \
         /usr/share/doc/camlens/THIRD-PARTY.txt /usr/share/doc/camlens/LICENSE-efficientnet-lite0 \
         /usr/share/doc/camlens/NOTICE; do
  grep -qx "$f" <<<"$files" || fail "$f not in the package"
  [ -e "$f" ] || fail "$f not installed"
done
for n in 16 22 24 32 48 64 128 256 512; do
  f="/usr/share/icons/hicolor/${n}x${n}/apps/camlens.png"
  [ -e "$f" ] || fail "$f not installed"
  file "$f" | grep -q "$n x $n" || fail "$f is not ${n}x${n}"
done
desktop-file-validate /usr/share/applications/camlens.desktop || fail "desktop entry invalid"
$SUDO update-mime-database /usr/share/mime
$SUDO update-desktop-database /usr/share/applications
grep -q "application/x-onnx:\*\.onnx" /usr/share/mime/globs2 || fail "*.onnx not known as application/x-onnx"
for t in application/x-onnx image/jpeg image/png; do
  grep -q "^$t=.*camlens.desktop" /usr/share/applications/mimeinfo.cache || fail "camlens not offered for $t"
done
/usr/bin/camlens --version

# 2. Start it the way a double-click does: the desktop entry's Exec, field codes dropped.
exec_line="$(sed -n 's/^Exec=//p' /usr/share/applications/camlens.desktop | sed 's/ %[fFuU]//g')"
home="$(mktemp -d)"
log="$OUT/app.log"
shot="$OUT/app.png"
( cd "$home" && HOME="$home" XDG_RUNTIME_DIR="$home" RUST_LOG=camlens=info \
    xvfb-run -a -s "-screen 0 1600x1000x24" sh -c "$exec_line & pid=\$!; \
      for i in \$(seq 600); do grep -q 'first heatmap after' '$log' && break; sleep 0.5; done; \
      sleep 15; import -window root '$shot'; kill \$pid" ) >"$log" 2>&1 || true
grep -q "first heatmap after" "$log" || { tail -20 "$log"; fail "no heatmap within 300 s"; }
[ -s "$shot" ] || fail "no screenshot"
python3 tools/check_screenshot.py "$shot" || fail "the screenshot shows no heatmap"
rm -rf "$home"
grep "first heatmap after" "$log"

# 3. Remove.
$SUDO dpkg -r camlens
$SUDO dpkg -P camlens >/dev/null 2>&1 || true
while read -r f; do
  if [ -f "$f" ]; then fail "$f left behind after removal"; fi
done <<<"$files"
if dpkg -s camlens >/dev/null 2>&1; then fail "camlens still registered with dpkg"; fi
echo "check_deb: $DEB installs, starts from its desktop entry, explains the samples and removes cleanly"

#!/usr/bin/env bash
# Builds camlens' installable packages for this platform into target/packages/ (docs/packages.md):
#   Linux: camlens_<version>_<arch>.deb and the portable archive camlens-<version>-<target>.tar.gz
#   macOS: camlens.app, camlens_<version>_<arch>.dmg (a `--features gpu-metal` build) and the archive
# Windows (not this script): cargo build --release && cargo packager --release --formats nsis
#
#   tools/package.sh              # every format of this platform
#   tools/package.sh deb          # one format (deb, appimage, app, dmg)
#
# Needs cargo-packager (installed here, pinned, if missing). One config for every platform:
# [package.metadata.packager] in Cargo.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGER_VERSION=0.11.8
if ! cargo packager --version 2>/dev/null | grep -q "$PACKAGER_VERSION"; then
  # Without its default TLS features: only the AppImage/NSIS/WiX tool downloads need them.
  cargo install cargo-packager --version "$PACKAGER_VERSION" --locked \
    --no-default-features --features cli
fi

case "$(uname -s)" in
  Darwin) FEATURES=(--features gpu-metal); FORMATS="${1:-app,dmg}" ;;
  Linux) FEATURES=(); FORMATS="${1:-deb}" ;;
  *) echo "tools/package.sh: on Windows run: cargo build --release && cargo packager --release --formats nsis" >&2; exit 2 ;;
esac

cargo build --release --locked --bin camlens "${FEATURES[@]}"
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
OUT="$TARGET_DIR/packages"
VERSION="$(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)"
HOST="$(rustc -vV | sed -n 's/^host: //p')"

# The packaged binary without its symbol table (about a fifth of its size): nobody debugs a
# package's binary, and a panic's message still says what went wrong. Stripped in place:
# cargo-packager 0.11.8 takes the binary from the build folder (it ignores --binaries-dir); the
# next cargo build that relinks it writes it whole again.
rm -rf "$OUT" && mkdir -p "$OUT"
strip "$TARGET_DIR/release/camlens" 2>/dev/null || echo "tools/package.sh: no strip; binary left whole" >&2

cargo packager --release --formats "$FORMATS" --out-dir "$OUT"

# The portable archive, for systems no package fits: unpack and run camlens/camlens.
NAME="camlens-$VERSION-$HOST"
mkdir -p "$OUT/$NAME"
cp "$TARGET_DIR/release/camlens" README.md LICENSE-MIT LICENSE-APACHE licenses/THIRD-PARTY.txt \
  models/LICENSE-efficientnet-lite0 assets/NOTICE "$OUT/$NAME/"
tar -C "$OUT" -czf "$OUT/$NAME.tar.gz" "$NAME"
rm -rf "$OUT/$NAME"
ls -l "$OUT"

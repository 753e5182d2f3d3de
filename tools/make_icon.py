"""Draws the camlens icon (a magnifying lens over a jet-coloured heat spot) once at 1024×1024 and
writes every size the packages need:

* assets/camlens.png: 256×256, the window icon (included in the binary) and the README's;
* assets/icons/hicolor/<N>x<N>/apps/camlens.png for N in the freedesktop hicolor theme's sizes
  (16, 22, 24, 32, 48, 64, 128, 256, 512), which the .deb installs;
* assets/icons/hicolor/scalable/apps/camlens.svg, the same picture as a vector drawing (a radial
  gradient through jet's colours) for the theme's scalable size;
* assets/icons/camlens.ico (Windows: the .exe's embedded icon and the installer's) and
  assets/icons/camlens.icns (macOS .app bundles).

Small sizes are downsampled from the large drawing (Lanczos) rather than drawn small, so every
size is the same picture.

    python3 tools/make_icon.py      # needs numpy and Pillow
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HICOLOR = [16, 22, 24, 32, 48, 64, 128, 256, 512]
S = 1024
K = S / 256  # the drawing's coordinates are those of the original 256-pixel icon


def draw() -> Image.Image:
    y, x = np.mgrid[0:S, 0:S].astype(np.float32) / K
    t = np.exp(-(((x - 110) / 55) ** 2 + ((y - 105) / 50) ** 2))
    jet = lambda v: np.clip(1.5 - np.abs(4 * t - v), 0, 1)
    rgb = np.stack([jet(3), jet(2), jet(1)], -1)
    inside = ((x - 110) ** 2 + (y - 105) ** 2) < 78**2
    img = np.zeros((S, S, 4), np.uint8)
    img[..., :3] = (rgb * 255).astype(np.uint8)
    img[..., 3] = np.where(inside, 255, 0)
    im = Image.fromarray(img, "RGBA")
    d = ImageDraw.Draw(im)
    r = 82 * K
    d.ellipse([110 * K - r, 105 * K - r, 110 * K + r, 105 * K + r],
              outline=(40, 40, 48, 255), width=round(14 * K))
    d.line([(172 * K, 167 * K), (236 * K, 231 * K)], fill=(40, 40, 48, 255), width=round(26 * K))
    return im


def svg() -> str:
    # jet(t) at t = 1 (centre) … 0 (rim): the stops of the raster drawing's colour ramp.
    stops = [(0.0, "#800000"), (0.11, "#ff0000"), (0.36, "#ffff00"), (0.62, "#00ffff"),
             (0.87, "#0000ff"), (1.0, "#00007f")]
    # The raster's heat falls as exp(-d²); the gradient's offsets are d/rim, rim = 78 px.
    rim, offs = 78.0, []
    for t_rel, colour in stops:
        t = 1.0 - t_rel
        d = np.sqrt(-np.log(max(t, 1e-3))) if t < 1.0 else 0.0
        offs.append((min(d * 55.0 / rim, 1.0), colour))
    stop_xml = "".join(f'<stop offset="{o:.3f}" stop-color="{c}"/>' for o, c in offs)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
        '<defs><radialGradient id="heat" cx="110" cy="105" r="78" gradientUnits="userSpaceOnUse" '
        f'gradientTransform="translate(110 105) scale(1 0.91) translate(-110 -105)">{stop_xml}'
        "</radialGradient></defs>"
        '<circle cx="110" cy="105" r="78" fill="url(#heat)"/>'
        '<circle cx="110" cy="105" r="75" fill="none" stroke="#282830" stroke-width="14"/>'
        '<line x1="172" y1="167" x2="236" y2="231" stroke="#282830" stroke-width="26"/>'
        "</svg>\n"
    )


def main() -> None:
    root = Path(__file__).resolve().parent.parent / "assets"
    big = draw()
    sized = {n: big.resize((n, n), Image.LANCZOS) for n in HICOLOR}
    sized[256].save(root / "camlens.png", optimize=True)
    for n, im in sized.items():
        out = root / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "camlens.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        im.save(out, optimize=True)
    scalable = root / "icons" / "hicolor" / "scalable" / "apps" / "camlens.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_text(svg())
    big.save(root / "icons" / "camlens.ico", sizes=[(n, n) for n in (16, 24, 32, 48, 64, 128, 256)])
    big.save(root / "icons" / "camlens.icns")


if __name__ == "__main__":
    main()

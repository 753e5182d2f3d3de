"""Draws assets/camlens.png (256×256): a magnifying lens over a jet-coloured heat spot.

    python3 tools/make_icon.py
"""
import numpy as np
from PIL import Image, ImageDraw

S = 256
y, x = np.mgrid[0:S, 0:S].astype(np.float32)
t = np.exp(-(((x - 110) / 55) ** 2 + ((y - 105) / 50) ** 2))
jet = lambda v: np.clip(1.5 - np.abs(4 * t - v), 0, 1)
rgb = np.stack([jet(3), jet(2), jet(1)], -1)
inside = ((x - 110) ** 2 + (y - 105) ** 2) < 78 ** 2
img = np.zeros((S, S, 4), np.uint8)
img[..., :3] = (rgb * 255).astype(np.uint8)
img[..., 3] = np.where(inside, 255, 0)
im = Image.fromarray(img, "RGBA")
d = ImageDraw.Draw(im)
d.ellipse([110 - 82, 105 - 82, 110 + 82, 105 + 82], outline=(40, 40, 48, 255), width=14)
d.line([(172, 167), (236, 231)], fill=(40, 40, 48, 255), width=26)
im.save("assets/camlens.png")

"""Says whether a screenshot of the app shows heatmaps: the share of its pixels in the jet colour
map's two ends as the cards blend them over a photo, blue-dominant (cold) and red-dominant (hot),
must both pass a floor that the window without heatmaps stays under. Measured on the deb check's
screenshot (1600x1000 screen, the 1400x900 window, five cards on chelsea.png): blue 0.026, red
0.0076; the same screenshot with the heatmap cards painted over (side panel, thumbnails,
highlights, the photo and the status bar left) 0.0073 and 0.0022. The floors sit between.

    python3 tools/check_screenshot.py shot.png     # stdlib and ImageMagick's convert
"""
import subprocess
import sys

BLUE_FLOOR = 0.012
RED_FLOOR = 0.004


def pixels(path: str) -> tuple[int, int, bytes]:
    ppm = subprocess.check_output(["convert", path, "-depth", "8", "ppm:-"])
    # P6 header: magic, width, height, maxval, then raw RGB.
    fields, pos = [], 0
    while len(fields) < 4:
        while ppm[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not ppm[end:end + 1].isspace():
            end += 1
        fields.append(ppm[pos:end])
        pos = end
    w, h = int(fields[1]), int(fields[2])
    return w, h, ppm[pos + 1:pos + 1 + w * h * 3]


def shares(path: str) -> tuple[float, float]:
    w, h, rgb = pixels(path)
    blue = red = 0
    for i in range(0, len(rgb), 3):
        r, g, b = rgb[i], rgb[i + 1], rgb[i + 2]
        if b > r + 60 and b > g + 20:
            blue += 1
        elif r > g + 80 and r > b + 80:
            red += 1
    return blue / (w * h), red / (w * h)


def main() -> None:
    blue, red = shares(sys.argv[1])
    print(f"jet blue {blue:.4f} (floor {BLUE_FLOOR}), jet red {red:.4f} (floor {RED_FLOOR})")
    sys.exit(0 if blue >= BLUE_FLOOR and red >= RED_FLOOR else 1)


if __name__ == "__main__":
    main()

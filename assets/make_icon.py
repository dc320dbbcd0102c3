"""Draw the app icon (assets/icon.png): two lungs on a blue tile with an orange detail.

Original artwork, drawn with Pillow at 4x and scaled down for smooth edges. Run once after a
change: ``.venv/bin/python assets/make_icon.py`` (the PNG is committed).
"""

from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
SCALE = 4
BLUE = (0, 90, 143)
WHITE = (250, 250, 250)
ORANGE = (213, 94, 0)


def _smooth(points: list[tuple[float, float]], steps: int = 12) -> list[tuple[float, float]]:
    """A closed Catmull-Rom curve through ``points`` (a lung outline without corners)."""
    out = []
    n = len(points)
    for i in range(n):
        p0, p1, p2, p3 = (points[(i + k) % n] for k in (-1, 0, 1, 2))
        for step in range(steps):
            t = step / steps
            out.append(tuple(
                0.5 * (2 * p1[c] + (-p0[c] + p2[c]) * t
                       + (2 * p0[c] - 5 * p1[c] + 4 * p2[c] - p3[c]) * t * t
                       + (-p0[c] + 3 * p1[c] - 3 * p2[c] + p3[c]) * t ** 3)
                for c in (0, 1)
            ))
    return out


# The lung on the image's left, on a 256 grid: apex, outer wall, base, medial edge.
LUNG = [(100, 62), (72, 84), (52, 130), (42, 186), (50, 212), (84, 206), (112, 214),
        (116, 170), (114, 120), (112, 78)]


def draw_icon(size: int = SIZE) -> Image.Image:
    s = size * SCALE
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=BLUE)
    u = s / 256  # drawing unit: coordinates are on a 256 grid
    left = [(x * u, y * u) for x, y in _smooth(LUNG)]
    right = [((256 - x) * u, y * u) for x, y in _smooth(LUNG)]
    draw.polygon(left, fill=WHITE)
    draw.polygon(right, fill=WHITE)
    # trachea and main bronchi, in the tile's blue over the lungs' inner edges
    draw.line([(128 * u, 34 * u), (128 * u, 104 * u)], fill=WHITE, width=int(14 * u))
    draw.line([(128 * u, 100 * u), (106 * u, 128 * u)], fill=BLUE, width=int(10 * u))
    draw.line([(128 * u, 100 * u), (150 * u, 128 * u)], fill=BLUE, width=int(10 * u))
    draw.line([(128 * u, 96 * u), (128 * u, 104 * u)], fill=WHITE, width=int(14 * u))
    # an orange spot in the right-hand lung: "a finding"
    draw.ellipse((158 * u, 150 * u, 192 * u, 184 * u), fill=ORANGE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


if __name__ == "__main__":
    out = Path(__file__).resolve().parent / "icon.png"
    draw_icon().save(out, optimize=True)
    print(f"wrote {out}")

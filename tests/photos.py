"""Real image files for the 七有 tests, drawn with Pillow (no fixtures on disk)."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw


def scene(width: int = 2400, height: int = 1600, *, seed: int = 1, grain: int = 12
          ) -> Image.Image:
    """A photo-like picture: sky and ground gradients, a "sign board" with text-like bars
    and sensor grain, so the JPEG encoder has real detail to keep (a flat colour would
    compress to nothing and prove nothing about sizes)."""
    rnd = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(120 + 100 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade // 2, shade // 2 + 40, shade))
    draw.rectangle([width // 5, height // 4, width * 4 // 5, height * 3 // 4], fill=(180, 20, 20))
    for row in range(8):
        y = height // 4 + 40 + row * (height // 20)
        x = width // 5 + 40
        while x < width * 4 // 5 - 80:
            w = rnd.randint(20, 90)
            draw.rectangle([x, y, x + w, y + height // 40], fill=(250, 230, 120))
            x += w + rnd.randint(10, 30)
    if grain:
        noise = Image.effect_noise((width, height), grain).convert("RGB")
        image = Image.blend(image, noise, 0.15)
    return image


def write_photo(path: Path, fmt: str = "JPEG", **kwargs: int) -> Path:
    scene(**kwargs).save(path, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return path

"""A Code 128 reader for the tests: a label PDF rasterised by pdftoppm, one row of pixels through the barcode,
its bars measured and decoded symbol by symbol with the check digit verified. An independent reading of what a
scanner would see, not a look at the text the label was made from."""

from __future__ import annotations

import subprocess
from pathlib import Path

from barcode.charsets import code128
from PIL import Image

PATTERNS = {pattern: value for value, pattern in enumerate(code128.CODES)}
STOP = code128.STOP + "11"  # the stop symbol and the final 2-module bar: 13 modules
CODE_B = {value: char for char, value in code128.B.items() if isinstance(char, str) and len(char) == 1}
CODE_A = {value: char for char, value in code128.A.items() if isinstance(char, str) and len(char) == 1}


def page_image(pdf: bytes, tmp_path: Path, page: int = 1, dpi: int = 300) -> Image.Image:
    source = tmp_path / "label.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-f",
            str(page),
            "-l",
            str(page),
            "-gray",
            "-png",
            str(source),
            str(tmp_path / "p"),
        ],
        check=True,
    )
    [png] = sorted(tmp_path.glob("p*.png"))
    return Image.open(png).convert("L")


def _runs(row: list[int]) -> list[tuple[bool, int]]:
    runs: list[tuple[bool, int]] = []
    for pixel in row:
        dark = pixel < 128
        if runs and runs[-1][0] == dark:
            runs[-1] = (dark, runs[-1][1] + 1)
        else:
            runs.append((dark, 1))
    return runs


def decode_row(row: list[int]) -> str | None:
    """The text of the Code 128 barcode crossing this row of pixels, or None."""
    runs = _runs(row)
    # The barcode: the longest stretch of runs without a wide light gap (the quiet zones end it).
    start = next((index for index, (dark, _) in enumerate(runs) if dark), None)
    if start is None:
        return None
    end = len(runs)
    if not runs[-1][0]:
        end -= 1
    bars = runs[start:end]
    # Each symbol is 3 bars and 3 spaces over 11 modules; the stop is 4 bars and 3 spaces over 13.
    if len(bars) < 7 or (len(bars) - 7) % 6:
        return None
    symbols = (len(bars) - 7) // 6
    module = sum(width for _, width in bars) / (symbols * 11 + 13)
    bits = "".join(("1" if dark else "0") * max(1, round(width / module)) for dark, width in bars)
    if not bits.endswith(STOP):
        return None
    body = bits[: -len(STOP)]
    if len(body) % 11:
        return None
    values = [PATTERNS.get(body[index : index + 11]) for index in range(0, len(body), 11)]
    if None in values or len(values) < 2:
        return None
    *data, check = values
    if sum(value * max(position, 1) for position, value in enumerate(data)) % 103 != check:
        return None
    text, charset = [], {103: "A", 104: "B", 105: "C"}.get(data[0])
    for value in data[1:]:
        if value in (99, 100, 101) and not (charset == "A" and value == 101) and not (charset == "B" and value == 100):
            charset = {99: "C", 100: "B", 101: "A"}[value]
        elif charset == "C":
            text.append(f"{value:02d}")
        elif charset == "B":
            text.append(CODE_B[value])
        else:
            text.append(CODE_A[value])
    return "".join(text)


def barcodes_on(image: Image.Image) -> set[str]:
    """Every Code 128 text readable along the page's rows."""
    width, height = image.size
    pixels = image.load()
    found = set()
    for y in range(0, height, 3):
        text = decode_row([pixels[x, y] for x in range(width)])
        if text:
            found.add(text)
    return found

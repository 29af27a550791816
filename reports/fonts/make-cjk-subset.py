#!/usr/bin/env python3
"""Make reports/fonts/NotoSansSC-Subset.otf: Noto Sans CJK SC Regular (SIL OFL 1.1) cut down to
GB 2312 (all 7445 characters of the national standard), ASCII, the Latin-1 and general
punctuation the certificates use, and every character of reports/glossary.toml.

Needs fonttools (pip install fonttools) and the Debian package fonts-noto-cjk (the source
font). Run from the repository root:

    target/refvenv/bin/python reports/fonts/make-cjk-subset.py

The output is committed; a certificate drawing a character outside it falls back to a system
CJK font or is refused with the character named (src/report/fonts.rs).
"""
import pathlib
import subprocess
import sys

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_NUMBER = 2  # Noto Sans CJK SC inside the collection
ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "fonts" / "NotoSansSC-Subset.otf"


def gb2312():
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def main():
    chars = gb2312()
    chars |= {chr(c) for c in range(0x20, 0x7F)}
    chars |= {chr(c) for c in range(0xA0, 0x100)}
    chars |= set("–—‘’“”…·•±×÷≤≥≈°µΩ²³⁻¹αβγεκΔδσν√∑→←↑↓∞‰℃、。，：；！？（）【】《》〈〉「」『』·")
    chars |= set((ROOT / "reports" / "glossary.toml").read_text(encoding="utf-8"))
    chars = sorted(c for c in chars if c.isprintable())
    text = ROOT / "target" / "cjk-subset-chars.txt"
    text.parent.mkdir(exist_ok=True)
    text.write_text("".join(chars), encoding="utf-8")
    subprocess.run(
        [
            sys.executable, "-m", "fontTools.subset", SOURCE,
            f"--font-number={FONT_NUMBER}",
            f"--text-file={text}",
            f"--output-file={OUT}",
            "--layout-features=*",
            "--name-IDs=*",
            "--name-languages=*",
            "--no-hinting",
        ],
        check=True,
    )
    print(f"{OUT}: {len(chars)} characters, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()

"""The page of a copy (GB/T 9704), in mm unless a name says pt, and the type styles."""

from __future__ import annotations

# --- Page geometry (GB/T 9704), in mm unless the name says pt ---------------------------

PT = 25.4 / 72
PAGE_W, PAGE_H = 210.0, 297.0
TOP, BOTTOM, LEFT, RIGHT = 37.0, 35.0, 28.0, 26.0
CELLS, LINES = 28, 22  # characters per line, lines per page
TYPE_W = PAGE_W - LEFT - RIGHT  # 156 mm
CELL = TYPE_W / CELLS  # 5.57 mm: 16 pt glyphs set 1.3 % narrower, as Word's grid does
LINE_PITCH = (PAGE_H - TOP - BOTTOM) / LINES  # 10.23 mm
BODY_PT, TITLE_PT, HEADER_PT, FOLIO_PT = 16.0, 22.0, 9.0, 14.0
RECIPIENT_PT = 10.0  # the recipient line: a point over the masthead, in Hei (see compose)
INDENT = 2  # cells before a body paragraph's first line


# Styles a cluster can be set in; the renderer maps them to fonts.
SONG, SONG_BOLD, KAI, HEI = "song", "song-bold", "kai", "hei"

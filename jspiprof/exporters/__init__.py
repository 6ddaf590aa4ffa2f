"""Exports of a trace to the formats of existing viewers: Chrome trace events (Perfetto) and speedscope."""

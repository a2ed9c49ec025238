"""The claudex wrapper: its text, its analysis, and the live passthrough test."""

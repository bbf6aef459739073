"""Rendering of verdicts for people and machines; renders only, never judges."""

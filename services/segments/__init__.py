"""Segments: saved rules over member profiles, their live membership, and targeted pushes."""

"""Histories of conversations written through the real store: the demo shop's eight weeks.

- writer.py  a chat's history, step by step, at moments the writer chooses
"""

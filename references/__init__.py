"""The reference pages (`*.md` beside this file), shipped as package data.

Read them with `claudex_doctor.help.refs` (or importlib.resources), never by a path
relative to the working directory: an installed wheel has no repository.
"""

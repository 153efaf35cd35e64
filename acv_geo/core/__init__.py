"""Foundations shared by every step; imports nothing else of acv_geo.

errors (InputError and its messages), codes (INSEE/SIREN normalisation), territories (mainland and overseas,
their projected CRS), datasets (the embedded data), metadata and labels (what each output column means, in
French and English), parallel (threads for vectorised geometry work).
"""

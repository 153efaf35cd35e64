"""Getting data: the catalogue of official datasets and their download, archives and checks.

Sits on :mod:`acv_geo.core` only; readers and indicators ask it where a fetched file lies.
"""

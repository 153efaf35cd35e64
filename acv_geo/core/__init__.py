"""Foundations shared by every step; imports nothing else of acv_geo.

One concept per module:

- ``errors``: :class:`~acv_geo.core.errors.InputError` and the wording of OS errors;
- ``codes``: INSEE / SIREN normalisation (lost leading zeros, Corsica, numbers, invisible marks), slugs;
- ``territories``: mainland and overseas territories, their projected CRS (2154, 5490, 2972, 2975, 4471);
- ``datasets``: the embedded data files, their provenance;
- ``metadata``: the metadata rows that describe every indicator column (role, scored columns);
- ``labels``: French and English labels of every output column;
- ``files``: reading text files (encodings, CSV separator, yes/no words) and atomic writes;
- ``progress``: progress as a tqdm bar or calls of ``progress(fraction, message)``;
- ``parallel``: threads for vectorised geometry work.
"""

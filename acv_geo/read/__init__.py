"""Reading files into checked tables, indexed by INSEE code (or SIREN), every repair reported.

One concept per module:

- ``text``: a user's file as published (CSV with any separator, JSON, GeoJSON, spreadsheets, point layers).
- ``cities``: the ACV towns (:func:`acv_geo.read_acv`): canonical columns, codes, open-data flags.
- ``positions``: the towns' positions, checked against their territory and repaired.
- ``communes``: commune, EPCI and other polygon layers; every French commune as points.
- ``national``: the national commune layer of the cluster statistics (``france_communes``).
- ``reference``: the embedded reference tables (communes, departments, EPCI names).
- ``repairs``: the repair report attached to what the readers return.
- ``opendata``: open-data status from the OpenDataFrance observatory.
- ``tables``: per-commune tables (CSV, XLSX, Parquet): INSEE column found and normalised, dates parsed.
- ``gaspar``: the GASPAR archive (folder, zip or CSV) read table by table.

Sits on :mod:`acv_geo.core` and :mod:`acv_geo.sources`.
"""

"""Reading files into checked tables, indexed by INSEE code.

cities (the ACV towns: any CSV/JSON/GeoJSON, repairs reported), opendata (open-data status from the
OpenDataFrance observatory). Sits on :mod:`acv_geo.core` and :mod:`acv_geo.sources`.
"""

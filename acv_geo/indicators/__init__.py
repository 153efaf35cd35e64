"""Indicators per town, each indexed like its input and described by metadata rows.

One concept per module:

- ``overlay``: vector layers over zones (share of area, counts, distance) with ``presets``
  (official field names and labels, ``presets.json``);
- ``zonal``: raster statistics with exact pixel coverage (exactextract), on ``raster`` windows;
- ``tables``: per-commune tables joined by INSEE code (radon, CatNat, seismic zoning, DDRM risks, any CSV);
- ``gaspar``: the GASPAR tables (risks, PPRN, AZI, TRI, DICRIM, CatNat);
- ``services``: web services per town (IGN API Carto Nature, Géorisques);
- ``coverage``: where a source has data (outside it: NA and a reason, never 0);
- ``epci``: town indicators summed up per EPCI;
- ``profile``: the exposure profile and the ranking (scored columns only, unknown never 0).

Sits on core, sources, read and zones.
"""

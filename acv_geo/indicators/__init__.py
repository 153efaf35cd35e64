"""Indicators per town, each indexed like its input and described by metadata rows.

overlay (vector layers), zonal (rasters), tables (commune tables: radon, CatNat, seismic, DDRM), gaspar
(GASPAR tables), services (IGN API Carto Nature, Géorisques), coverage (where a source has data), profile
(exposure score and ranking). Sits on core, sources, read and zones.
"""

"""Getting data: the catalogue of official datasets, their download, archives and checks, and web services.

Sits on :mod:`acv_geo.core` only; readers and indicators ask it where a fetched file lies. One concept
per module:

- :mod:`~acv_geo.sources.errors`: :class:`FetchError` and the wording of byte sizes;
- :mod:`~acv_geo.sources.catalogue`: load and validate ``catalogue.json``; source names (``pprn:34``);
- :mod:`~acv_geo.sources.cache`: the cache folder, manifests, :func:`list_sources`, :func:`source_info`,
  :func:`source_path`, :func:`resolve_source`;
- :mod:`~acv_geo.sources.download`: HTTP with resume, checksums, web-page refusal, the User-Agent;
- :mod:`~acv_geo.sources.archives`: safe zip/7z extraction (zip-bomb limits), safe file names;
- :mod:`~acv_geo.sources.layers`: the fields of installed layers checked against the catalogue;
- :mod:`~acv_geo.sources.fetching`: :func:`fetch`, the orchestration of the above;
- :mod:`~acv_geo.sources.services`: the web-service client (API Carto Nature, Géorisques): cache,
  rate limit, retries, pagination, and the services' endpoints and layers;
- :mod:`~acv_geo.sources.service_zones`: a zone asked to API Carto, simplified or split into tiles.
"""

"""What a run writes; computes no indicator.

One concept per module:

- ``writers``: tables by file extension (GeoPackage, CSV, Parquet, GeoJSON) with their metadata sidecar, JSON;
- ``maps``: one map (choropleth, cluster map, town map as SVG) with the overseas territories in insets;
- ``atlas``: the maps of a diagnostic run (which columns, titles, in worker processes);
- ``report``: the HTML report (Jinja2 templates in ``templates/``, French or English);
- ``folder``: the output folder filled aside and swapped in whole.

Sits on core, read and stats.
"""

"""Spatial statistics: who neighbours whom, and where values cluster.

One concept per module:

* ``weights``: spatial weights (libpysal graphs built per territory, never across two), and their
  binding to a set of units (:func:`~acv_geo.stats.weights.unit_weights`).
* ``choices``: the fixed choices (methods, their titles and labels, levels, alternatives), plain data.
* ``values``: the analysed variable as float64 (yes/no words, decimal commas) and its checks.
* ``units``: units of analysis: the cities, or their EPCIs with aggregated values.
* ``permutation``: seeds, NumPy's seeded generator, esda's conditional randomisation (the only use
  of esda's private API).
* ``adjacency``: weights as arrays (the libpysal Graph built only when asked for), knn by k-d tree.
* ``conditional``: esda's conditional randomisation of local statistics with NumPy (same draws).
* ``moran``: global Moran's I (esda.Moran's values, permutations vectorised).
* ``joincounts``: global join counts with all permutations at once (esda's values, vectorised).
* ``local``: LISA, Gi*, local join counts on one graph; labels and reasons.
* ``fdr``: Benjamini–Hochberg adjusted p-values (scipy's, without importing scipy.stats).
* ``results``: the result classes and their JSON.
* ``clusters``: the public functions (``join_counts``, ``morans_i``, ``local_clusters``,
  ``cluster_weights``).

Sits on core, read and zones.
"""

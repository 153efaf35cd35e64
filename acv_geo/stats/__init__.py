"""Spatial statistics.

Spatial statistics: weights (libpysal graphs per territory), clusters (join counts, Moran's I, LISA,
Gi*, local join counts, with FDR). Sits on core, read and zones.
"""

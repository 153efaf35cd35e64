"""QGIS layers ↔ GeoDataFrames: the only place where QGIS and pandas objects meet.

* :func:`source_to_gdf` reads any :class:`QgsFeatureSource` (a layer of any provider — GeoPackage,
  Shapefile, memory…; from ``parameterAsSource`` it honours "selected features only") into a
  GeoDataFrame. The CRS goes through WKT (``crs().toWkt()`` → :class:`pyproj.CRS`), never through
  an "EPSG:x" string, so custom CRSs survive. Fields are typed: integers → ``Int64``, reals →
  ``float64``, booleans → ``boolean`` (all nullable), text → strings, dates → datetimes.
* :func:`frame_fields` / :func:`write_frame` turn a result (index ``insee_com`` first) into typed
  QGIS fields and features of a feature sink, with the result's CRS (again as WKT).
"""

from __future__ import annotations

import math
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessingException,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDate, QDateTime, QTime, QVariant

_INT_TYPES = {QVariant.Int, QVariant.UInt, QVariant.LongLong, QVariant.ULongLong}
_INT32 = (-(2**31), 2**31 - 1)


# --------------------------------------------------------------------------------------------
# CRS


def crs_to_pyproj(crs: QgsCoordinateReferenceSystem):
    """A QGIS CRS as a :class:`pyproj.CRS` (through WKT2), or None when it is invalid/unset."""
    if crs is None or not crs.isValid():
        return None
    import pyproj

    return pyproj.CRS.from_wkt(crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED))


def crs_from_pyproj(crs) -> QgsCoordinateReferenceSystem:
    """A pyproj CRS (or None) as a QGIS CRS (through WKT; invalid when None)."""
    if crs is None:
        return QgsCoordinateReferenceSystem()
    import pyproj

    wkt = pyproj.CRS.from_user_input(crs).to_wkt()
    return QgsCoordinateReferenceSystem.fromWkt(wkt)


# --------------------------------------------------------------------------------------------
# QGIS → pandas


def _py(value: Any) -> Any:
    """A QGIS attribute value as a plain Python value (NULL → None)."""
    if isinstance(value, QVariant):
        return None if value.isNull() else _py(value.value())
    if isinstance(value, QDateTime):
        return value.toPyDateTime() if value.isValid() else None
    if isinstance(value, QDate):
        return value.toPyDate() if value.isValid() else None
    if isinstance(value, QTime):
        return value.toPyTime() if value.isValid() else None
    return value


def _column(values: list, qtype: int):
    import numpy as np
    import pandas as pd

    if qtype in _INT_TYPES:
        return pd.array(values, dtype="Int64")
    if qtype == QVariant.Double:
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    if qtype == QVariant.Bool:
        return pd.array(values, dtype="boolean")
    if qtype in (QVariant.Date, QVariant.DateTime):
        return pd.to_datetime(pd.Series(values, dtype=object))
    if qtype == QVariant.String:
        return pd.Series(values)  # pandas' default text dtype (object in pandas 2, str in pandas 3)
    return pd.Series(values, dtype=object)


def source_to_gdf(
    source,
    *,
    fields: list[str] | None = None,
    feedback=None,
    progress: tuple[float, float] = (0.0, 100.0),
    what: str = "input layer",
):
    """Read a QGIS feature source into a GeoDataFrame.

    Parameters
    ----------
    source : QgsFeatureSource
        A vector layer or the source returned by ``parameterAsSource`` (selected features only
        when the user asked so).
    fields : list of str, optional
        Read only these attributes (all by default). Unknown names raise.
    feedback : QgsProcessingFeedback, optional
        For progress (between ``progress[0]`` and ``progress[1]`` %) and cancellation.
    progress : tuple of float
        Progress range this read covers.
    what : str
        How the layer is named in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per feature (RangeIndex, feature order), typed columns, ``geometry`` in the
        source's CRS (``crs=None`` when the layer has none; the core then says so).

    Raises
    ------
    QgsProcessingException
        When a requested field does not exist, or the user cancelled.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    qfields = source.fields()
    names = [f.name() for f in qfields]
    if fields is None:
        wanted = names
    else:
        unknown = [f for f in fields if f not in names]
        if unknown:
            raise QgsProcessingException(
                f"{what}: no field {unknown[0]!r}; the layer has {names[:30]}"
            )
        wanted = list(dict.fromkeys(fields))
    idx = [qfields.indexOf(n) for n in wanted]
    request = QgsFeatureRequest()
    if fields is not None:
        request.setSubsetOfAttributes(idx)
    total = max(int(source.featureCount()), 0) or 1
    lo, hi = progress
    cols: list[list] = [[] for _ in idx]
    wkbs: list[bytes | None] = []
    for i, feat in enumerate(source.getFeatures(request)):
        if feedback is not None and i % 1000 == 0:
            if feedback.isCanceled():
                raise QgsProcessingException("cancelled")
            feedback.setProgress(lo + (hi - lo) * min(i / total, 1.0))
        attrs = feat.attributes()
        for c, j in zip(cols, idx, strict=True):
            c.append(_py(attrs[j]))
        geom = feat.geometry()
        wkbs.append(None if geom.isNull() else bytes(geom.asWkb()))
    geoms = shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else np.array([], dtype=object)
    data = {n: _column(c, qfields.at(j).type()) for n, c, j in zip(wanted, cols, idx, strict=True)}
    gdf = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms), crs=crs_to_pyproj(source.sourceCrs()))
    if feedback is not None:
        feedback.setProgress(hi)
    return gdf


# --------------------------------------------------------------------------------------------
# pandas → QGIS


def _is_geo(series) -> bool:
    return getattr(series, "dtype", None) is not None and str(series.dtype) == "geometry"


def _kind(series) -> str:
    """'bool', 'int', 'float', 'datetime' or 'string' for a column."""
    import pandas as pd
    from pandas.api import types as pt

    dt = series.dtype
    if pt.is_bool_dtype(dt):
        return "bool"
    if pt.is_integer_dtype(dt):
        return "int"
    if pt.is_float_dtype(dt):
        return "float"
    if pt.is_datetime64_any_dtype(dt):
        return "datetime"
    if pt.is_object_dtype(dt):
        vals = [v for v in series if v is not None and v is not pd.NA and not (isinstance(v, float) and math.isnan(v))]
        if vals and all(isinstance(v, bool) for v in vals):
            return "bool"
        if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            return "int"
        if vals and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            return "float"
    return "string"


def frame_fields(df, index_name: str = "insee_com") -> tuple[QgsFields, list[tuple[str, str]]]:
    """QGIS fields of a result frame: its index first, then every non-geometry column, typed.

    Returns
    -------
    (QgsFields, list of (column, kind))
        ``kind`` is one of bool/int/float/datetime/string; the first entry is the index.
    """
    fields = QgsFields()
    kinds: list[tuple[str, str]] = [(index_name, "string")]
    fields.append(QgsField(index_name, QVariant.String))
    geo_name = df.geometry.name if hasattr(df, "geometry") and _is_geo(df.get(df.geometry.name)) else None
    for col in df.columns:
        s = df[col]
        if col == geo_name or _is_geo(s) or col == index_name:
            continue
        kind = _kind(s)
        if kind == "int":
            import pandas as pd

            vals = pd.to_numeric(s, errors="coerce").dropna()
            big = len(vals) and (vals.min() < _INT32[0] or vals.max() > _INT32[1])
            qtype = QVariant.LongLong if big else QVariant.Int
        else:
            qtype = {
                "bool": QVariant.Bool,
                "float": QVariant.Double,
                "datetime": QVariant.DateTime,
                "string": QVariant.String,
            }[kind]
        fields.append(QgsField(str(col), qtype))
        kinds.append((str(col), kind))
    return fields, kinds


def wkb_type(df) -> int:
    """QGIS geometry type of a frame's geometry column (multi when any part is multi); NoGeometry if none."""
    import shapely

    if not hasattr(df, "geometry") or not _is_geo(df.get(getattr(df.geometry, "name", None))):
        return QgsWkbTypes.NoGeometry
    geoms = df.geometry.values
    types = {t for t in df.geometry.geom_type.dropna().unique()}
    if not types:
        return QgsWkbTypes.Unknown
    has_z = bool(shapely.has_z(geoms[~shapely.is_missing(geoms)]).any())
    if types <= {"Point"}:
        t = QgsWkbTypes.Point
    elif types <= {"Point", "MultiPoint"}:
        t = QgsWkbTypes.MultiPoint
    elif types <= {"LineString", "MultiLineString", "LinearRing"}:
        t = QgsWkbTypes.MultiLineString
    elif types <= {"Polygon", "MultiPolygon"}:
        t = QgsWkbTypes.MultiPolygon
    else:
        t = QgsWkbTypes.Unknown
    return QgsWkbTypes.addZ(t) if has_z else t


def _value(v: Any, kind: str) -> Any:
    import pandas as pd

    if v is None or v is pd.NA or v is pd.NaT:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if kind == "bool":
        return bool(v)
    if kind == "int":
        return int(v)
    if kind == "float":
        f = float(v)
        return None if math.isnan(f) else f
    if kind == "datetime":
        return QDateTime(pd.Timestamp(v).to_pydatetime())
    return str(v)


def write_frame(df, sink, fields: QgsFields, kinds: list[tuple[str, str]], *, feedback=None,
                progress: tuple[float, float] = (0.0, 100.0)) -> int:
    """Add one feature per row of ``df`` to ``sink`` (attributes in ``kinds`` order).

    Polygons and lines are written as multi-geometries (matching :func:`wkb_type`); missing or
    empty geometries become NULL geometries. Returns the number of features written.
    """
    import numpy as np
    import shapely

    has_geom = wkb_type(df) != QgsWkbTypes.NoGeometry
    if has_geom:
        geoms = np.asarray(df.geometry.values, dtype=object)
        geoms = np.where(shapely.is_empty(geoms), None, geoms)
        target = wkb_type(df)
        wkbs = shapely.to_wkb(geoms)
    columns = [list(df.index)] + [df[name].tolist() for name, _ in kinds[1:]]
    n = len(df)
    lo, hi = progress
    for r in range(n):
        if feedback is not None and r % 500 == 0:
            if feedback.isCanceled():
                raise QgsProcessingException("cancelled")
            feedback.setProgress(lo + (hi - lo) * r / max(n, 1))
        feat = QgsFeature(fields)
        feat.setAttributes([_value(col[r], kind) for col, (_, kind) in zip(columns, kinds, strict=True)])
        if has_geom and wkbs[r] is not None:
            g = QgsGeometry()
            g.fromWkb(bytes(wkbs[r]))
            if QgsWkbTypes.isMultiType(target) and not g.isMultipart():
                g.convertToMultiType()
            feat.setGeometry(g)
        if not sink.addFeature(feat, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(f"could not write feature {r + 1} ({df.index[r]}): {sink.lastError()}")
    if feedback is not None:
        feedback.setProgress(hi)
    return n

"""QGIS layers in and out of the core's process, and their styles. Only QGIS's own API is used.

* :func:`export_source` writes a Processing source (selection honoured) to a GeoPackage for the core;
* :func:`copy_to_sink` copies a layer the core wrote into a Processing sink, field types kept
  (integers stay integers);
* :func:`style_on_load` styles an output when QGIS loads it: categories for classes, graduated
  colours for shares and scores, and "no data" (NULL) always drawn apart, in hatched grey.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsClassificationQuantile,
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsGraduatedSymbolRenderer,
    QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface,
    QgsRendererCategory,
    QgsRendererRange,
    QgsRuleBasedRenderer,
    QgsStyle,
    QgsSymbol,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtGui import QColor

from .translation import noop, tr, user_language

NO_DATA_COLOR = QColor(200, 200, 200)
_KEEP: list = []  # Python post-processors must outlive the algorithm (QGIS does not own them)
_ALIASES: dict[str, dict[str, str]] = {}  # destination id → {field: label}, read before the temp folder goes


def file_stem(name: str) -> str:
    """A file name made of a layer name (letters, digits, ``_-.`` kept), so the core's texts name the layer."""
    stem = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._")
    return stem[:80] or "layer"


def export_source(source, path: Path, context, feedback, what: str, *, require: bool = True) -> str:
    """Write a feature source to a GeoPackage (layer ``data``); return the path.

    ``require``: an empty source (or an empty selection) is an error.
    """
    from qgis.core import QgsCoordinateTransformContext

    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "data"
    options.fileEncoding = "UTF-8"
    tc = context.transformContext() if context is not None else QgsCoordinateTransformContext()
    fields = QgsFields()
    for f in source.fields():
        if f.name().lower() != "fid":  # the GeoPackage key is rebuilt
            fields.append(f)
    writer = QgsVectorFileWriter.create(str(path), fields, source.wkbType(), source.sourceCrs(), tc, options)
    if writer.hasError():
        raise QgsProcessingException(tr("{}: cannot be written for acv-geo ({})").format(what, writer.errorMessage()))
    n = 0
    names = fields.names()
    for feat in source.getFeatures():
        if feedback.isCanceled():
            break
        out = QgsFeature(fields)
        out.setGeometry(feat.geometry())
        out.setAttributes([feat[name] for name in names])
        writer.addFeature(out)
        n += 1
    del writer  # flush and close
    if n == 0 and require:
        raise QgsProcessingException(tr("{}: no feature (or no selected feature)").format(what))
    feedback.pushInfo(tr("{}: {} features handed to acv-geo").format(what, n))
    return str(path)


def has_geometry(source) -> bool:
    """True when the source's features carry geometries (not a plain table)."""
    return QgsWkbTypes.geometryType(source.wkbType()) not in (QgsWkbTypes.NullGeometry, QgsWkbTypes.UnknownGeometry)


def open_output(path: str | Path, layer: str) -> QgsVectorLayer:
    """A layer the core wrote, or a clear error."""
    vl = QgsVectorLayer(f"{path}|layername={layer}", layer, "ogr")
    if not vl.isValid():
        raise QgsProcessingException(tr("acv-geo did not write the expected layer {} in {}").format(layer, path))
    return vl


def copy_to_sink(alg, parameters, name: str, context, path: str | Path, layer: str, feedback) -> str:
    """Copy the core's output layer into the sink parameter ``name``; return the destination id."""
    vl = open_output(path, layer)
    keep = [i for i, f in enumerate(vl.fields()) if f.name().lower() != "fid"]
    fields = QgsFields()
    for i in keep:
        fields.append(vl.fields().at(i))
    sink, dest = alg.parameterAsSink(parameters, name, context, fields, vl.wkbType(), vl.crs())
    if sink is None:
        raise QgsProcessingException(alg.invalidSinkError(parameters, name))
    total = max(vl.featureCount(), 1)
    for n, feat in enumerate(vl.getFeatures()):
        out = QgsFeature(fields)
        out.setGeometry(feat.geometry())
        attrs = feat.attributes()
        out.setAttributes([attrs[i] for i in keep])
        sink.addFeature(out, QgsFeatureSink.FastInsert)
        if n % 500 == 0:
            feedback.setProgress(95 + 5 * n / total)
    _ALIASES[dest] = read_aliases(path)
    return dest


def read_aliases(path: str | Path) -> dict[str, str]:
    """Human labels of the core's columns in the user's language, from the metadata written beside ``path``.

    The core writes ``<name>.metadata.csv`` beside each table (``indicators.metadata.csv`` in a diagnostic
    folder) with ``label_fr`` and ``label_en`` columns; QGIS shows them as field aliases.
    """
    p = Path(str(path).split("|")[0])
    key = "label_fr" if user_language() == "fr" else "label_en"
    for meta in (p.with_name(f"{p.stem}.metadata.csv"), p.with_name("indicators.metadata.csv")):
        if meta.is_file():
            with open(meta, encoding="utf-8", newline="") as fh:
                return {r["column"]: r[key] for r in csv.DictReader(fh) if r.get("column") and r.get(key)}
    return {}


# ------------------------------------------------------------------------------------------
# styles


def _symbol(layer, color: QColor, *, hatched: bool = False):
    symbol = QgsSymbol.defaultSymbol(layer.geometryType())
    symbol.setColor(color)
    if hatched and layer.geometryType() == QgsWkbTypes.PolygonGeometry:
        sl = symbol.symbolLayer(0)
        if hasattr(sl, "setBrushStyle"):
            from qgis.PyQt.QtCore import Qt

            sl.setBrushStyle(Qt.BDiagPattern)
            sl.setStrokeColor(QColor(140, 140, 140))
    return symbol


def categorized(layer, field: str, classes: list[tuple[object, str, str]]):
    """Categories ``(value, colour, label)`` plus a hatched grey NULL category labelled "no data"."""
    cats = [QgsRendererCategory(value, _symbol(layer, QColor(color)), label) for value, color, label in classes]
    cats.append(QgsRendererCategory(None, _symbol(layer, NO_DATA_COLOR, hatched=True), tr("No data")))
    return QgsCategorizedSymbolRenderer(field, cats)


def _values(layer, field: str) -> list[float]:
    """The non-NULL values of a numeric field (QGIS would count NULL as 0 when classifying)."""
    out = []
    for feat in layer.getFeatures():
        v = feat[field]
        if v is not None and not (hasattr(v, "isNull") and v.isNull()) and v == v:
            out.append(float(v))
    return out


def graduated(layer, field: str, classes: int = 5):
    """Quantile classes of the measured values of ``field`` (yellow to red), and NULL as hatched grey "no data"."""
    values = _values(layer, field)
    ranges, seen = [], set()
    for r in QgsClassificationQuantile().classes(values, classes) if values else []:
        key = (round(r.lowerBound(), 9), round(r.upperBound(), 9))
        if key not in seen:
            seen.add(key)
            label = f"{r.lowerBound():.4g} – {r.upperBound():.4g}"
            ranges.append(
                QgsRendererRange(r.lowerBound(), r.upperBound(), QgsSymbol.defaultSymbol(layer.geometryType()), label)
            )
    renderer = QgsGraduatedSymbolRenderer(field, ranges)
    ramp = QgsStyle.defaultStyle().colorRamp("YlOrRd") or QgsStyle.defaultStyle().colorRamp("Reds")
    if ramp is not None and ranges:
        renderer.updateColorRamp(ramp)
    rules = QgsRuleBasedRenderer.convertFromRenderer(renderer)
    no_data = QgsRuleBasedRenderer.Rule(
        _symbol(layer, NO_DATA_COLOR, hatched=True), filterExp=f'"{field}" IS NULL', label=tr("No data")
    )
    rules.rootRule().appendChild(no_data)
    return rules


class _Styler(QgsProcessingLayerPostProcessorInterface):
    def __init__(self, build, aliases: dict[str, str]) -> None:
        super().__init__()
        self.build = build
        self.aliases = aliases

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS API name
        if layer is None or not layer.isValid():
            return
        for name, alias in self.aliases.items():
            idx = layer.fields().indexFromName(name)
            if idx >= 0:
                layer.setFieldAlias(idx, alias)
        renderer = self.build(layer)
        if renderer is not None:
            layer.setRenderer(renderer)
            layer.triggerRepaint()


def style_on_load(context, dest: str, build) -> None:
    """When QGIS loads the output ``dest``, give it ``build(layer)``'s renderer."""
    if not context.willLoadLayerOnCompletion(dest):
        return
    styler = _Styler(build, _ALIASES.pop(dest, None) or read_aliases(dest))
    _KEEP.append(styler)
    context.layerToLoadOnCompletionDetails(dest).setPostProcessor(styler)


def first_field(layer, suffixes: tuple[str, ...], exclude: tuple[str, ...] = ()) -> str | None:
    """The first numeric field ending with one of ``suffixes`` (in that order of preference)."""
    names = [f.name() for f in layer.fields() if f.isNumeric()]
    for suffix in suffixes:
        for n in names:
            if n.endswith(suffix) and not n.endswith(exclude):
                return n
    return None


def style_numeric(suffixes: tuple[str, ...]):
    """A builder: graduated colours on the first field ending with one of ``suffixes``."""

    def build(layer):
        field = first_field(layer, suffixes)
        return graduated(layer, field) if field else None

    return build


OPENDATA_CLASSES = [(True, "#1a9641", noop("Publishes open data")), (False, "#d7191c", noop("Publishes no open data"))]
CLUSTER_COLORS = {
    "HH": "#e31a1c",
    "hot": "#e31a1c",
    "BB cluster": "#e31a1c",
    "LL": "#1f78b4",
    "cold": "#1f78b4",
    "HL": "#fb9a99",
    "LH": "#a6cee3",
    "not significant": "#eeeeee",
    "isolated": "#999999",
}


def style_opendata(layer, field: str = "opendata"):
    """Categories of the open-data status (yes / no / no data)."""
    if layer.fields().indexOf(field) < 0:
        return None
    return categorized(layer, field, [(v, c, tr(label)) for v, c, label in OPENDATA_CLASSES])


CLUSTER_LABELS = {
    "HH": noop("HH: high among high"),
    "LL": noop("LL: low among low"),
    "HL": noop("HL: high among low"),
    "LH": noop("LH: low among high"),
    "hot": noop("hot spot"),
    "cold": noop("cold spot"),
    "BB cluster": noop("BB cluster (yes among yes)"),
    "not significant": noop("not significant"),
    "isolated": noop("isolated (no neighbour)"),
}


def style_clusters(layer, field: str = "label"):
    """Cluster labels in GeoDa's colours, legends in the user's language; NA (no value) as "no data"."""
    if layer.fields().indexOf(field) < 0:
        return None
    values = sorted({str(v) for v in layer.uniqueValues(layer.fields().indexOf(field)) if v not in (None, "NA")})
    classes = [
        (v, CLUSTER_COLORS.get(v, "#ff7f00"), tr(CLUSTER_LABELS[v]) if v in CLUSTER_LABELS else v) for v in values
    ]
    classes.append(("NA", NO_DATA_COLOR.name(), tr("No value (excluded)")))
    return categorized(layer, field, classes)


def style_classes(field: str):
    """A builder: one category per value of a class field (radon class, seismic zone)."""
    palette = ["#ffffcc", "#fed976", "#fd8d3c", "#e31a1c", "#800026"]

    def build(layer):
        idx = layer.fields().indexOf(field)
        if idx < 0:
            return None
        values = sorted(v for v in layer.uniqueValues(idx) if v is not None and str(v) != "NULL")
        return categorized(layer, field, [(v, palette[i % len(palette)], str(v)) for i, v in enumerate(values)])

    return build

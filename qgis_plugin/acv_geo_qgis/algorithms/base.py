"""Shared behaviour of the ACV Geo algorithms (QGIS ScriptTemplate conventions).

Each algorithm subclasses :class:`AcvGeoAlgorithm`, declares its parameters as upper-case
constants, and implements :meth:`AcvGeoAlgorithm.process`: parameters → GeoDataFrames → ONE core
function → sinks. :meth:`processAlgorithm` wraps ``process`` so that

* the core's bad-input errors (``acv_geo.InputError``/``ValueError``, ``FileNotFoundError``)
  reach the user as :class:`QgsProcessingException` carrying the core's message unchanged;
* the core's warnings and its ``acv_geo`` log records (repairs) appear in the algorithm log.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .. import convert

ICON = Path(__file__).resolve().parents[1] / "icon.svg"


class _FeedbackHandler(logging.Handler):
    """Forwards ``acv_geo`` log records (INFO and up) to the Processing log."""

    def __init__(self, feedback) -> None:
        super().__init__(logging.INFO)
        self.feedback = feedback

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            if record.levelno >= logging.WARNING:
                _warn(self.feedback, msg)
            else:
                self.feedback.pushInfo(msg)
        except Exception:  # noqa: BLE001 - logging must never break the algorithm
            pass


def _warn(feedback, msg: str) -> None:
    if hasattr(feedback, "pushWarning"):
        feedback.pushWarning(msg)
    else:  # pragma: no cover - QGIS < 3.16.2
        feedback.reportError(msg, False)


class AcvGeoAlgorithm(QgsProcessingAlgorithm):
    """Base class: naming, help, icon, error and log translation."""

    #: Stable lowercase algorithm id (without the ``acvgeo:`` prefix).
    NAME = ""
    #: Display name (translated with :meth:`tr`).
    DISPLAY = ""
    #: Short help (HTML allowed).
    HELP = ""
    #: Fully qualified core function this algorithm adapts (for the help text).
    CORE = ""

    def tr(self, string: str) -> str:
        return QCoreApplication.translate("AcvGeo", string)

    def createInstance(self):  # noqa: N802
        return type(self)()

    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:  # noqa: N802
        return self.tr(self.DISPLAY)

    def group(self) -> str:
        return self.tr("ACV diagnostics")

    def groupId(self) -> str:  # noqa: N802
        return "acvdiagnostics"

    def shortHelpString(self) -> str:  # noqa: N802
        core = f"<p><i>Core function: <code>{self.CORE}</code> (acv-geo).</i></p>" if self.CORE else ""
        return self.tr(self.HELP) + core

    def icon(self) -> QIcon:
        return QIcon(str(ICON))

    def process(self, parameters, context, feedback) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        log = logging.getLogger("acv_geo")
        handler = _FeedbackHandler(feedback)
        old_level = log.level
        log.addHandler(handler)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        try:
            import acv_geo

            feedback.pushInfo(f"Core: acv-geo {acv_geo.__version__} ({Path(acv_geo.__file__).parent})")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    result = self.process(parameters, context, feedback)
                finally:
                    for w in caught:
                        if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
                            _warn(feedback, str(w.message))
        except QgsProcessingException:
            raise
        except (ValueError, FileNotFoundError) as exc:  # acv_geo.InputError is a ValueError
            raise QgsProcessingException(str(exc)) from exc
        finally:
            log.removeHandler(handler)
            log.setLevel(old_level)
        return result

    # helpers ---------------------------------------------------------------------------------

    def check_canceled(self, feedback) -> None:
        """Stop between steps when the user pressed Cancel."""
        if feedback.isCanceled():
            raise QgsProcessingException(self.tr("Cancelled"))

    def write_sink(self, parameters, context, name: str, frame, feedback, progress=(80.0, 100.0),
                   index_name: str = "insee_com") -> str:
        """Write ``frame`` (its index becomes the first field, ``insee_com``) to the sink ``name``; return its id."""
        fields, kinds = convert.frame_fields(frame, index_name=index_name)
        crs = convert.crs_from_pyproj(getattr(frame, "crs", None)) if hasattr(frame, "geometry") else None
        sink, dest_id = self.parameterAsSink(
            parameters, name, context, fields, convert.wkb_type(frame),
            crs if crs is not None else convert.QgsCoordinateReferenceSystem(),
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, name))
        convert.write_frame(frame, sink, fields, kinds, feedback=feedback, progress=progress)
        return dest_id

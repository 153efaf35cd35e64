"""Translations: every display string goes through :func:`tr` (Qt context ``AcvGeo``).

The French translation ships as ``i18n/acv_geo_qgis_fr.qm`` (compiled from ``acv_geo_qgis_fr.ts`` by
``scripts/build_translations.py``); :func:`install_translator` loads the file matching the user's QGIS
locale (setting ``locale/userLocale``, e.g. ``fr_FR``), English otherwise.
"""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtCore import QCoreApplication, QTranslator

CONTEXT = "AcvGeo"
FOLDER = Path(__file__).resolve().parent / "i18n"
_installed: list[QTranslator] = []


def noop(text: str) -> str:
    """Mark ``text`` for translation where it is defined; :func:`tr` translates it where it is shown."""
    return text


def tr(text: str) -> str:
    """``text`` in the user's language (English source text when there is no translation)."""
    return QCoreApplication.translate(CONTEXT, text)


def user_language() -> str:
    """Two-letter language of QGIS's interface (``fr``, ``en``…)."""
    from qgis.core import QgsSettings

    locale = str(QgsSettings().value("locale/userLocale", "") or "")
    if not locale:
        from qgis.PyQt.QtCore import QLocale

        locale = QLocale.system().name()
    return locale[:2].lower()


def install_translator() -> str | None:
    """Load the translation of the user's language once; return the .qm file loaded, if any."""
    if _installed:
        return None
    qm = FOLDER / f"acv_geo_qgis_{user_language()}.qm"
    if not qm.exists():
        return None
    translator = QTranslator()
    if not translator.load(str(qm)):
        return None
    QCoreApplication.installTranslator(translator)
    _installed.append(translator)  # keep it alive
    return str(qm)


def uninstall_translator() -> None:
    """Remove the translation :func:`install_translator` loaded (back to English)."""
    while _installed:
        QCoreApplication.removeTranslator(_installed.pop())

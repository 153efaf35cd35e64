"""``acvgeo:fetch``: download official national layers into the cache (``acv-geo fetch``)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputFolder,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
)

from .base import CHOICES, AcvGeoAlgorithm


class FetchAlgorithm(AcvGeoAlgorithm):
    """Catalogue sources → files in the acv-geo cache (resumable, checksummed, extracted safely)."""

    SOURCES = "SOURCES"
    DEPARTMENT = "DEPARTMENT"
    CACHE = "CACHE"
    FORCE = "FORCE"
    OFFLINE = "OFFLINE"
    CACHE_FOLDER = "CACHE_FOLDER"
    FILES = "FILES"

    NAME = "fetch"
    DISPLAY = "Download official layers (Géorisques, INPN, IGN…)"
    COMMAND = "fetch"
    HELP = (
        "<p>Downloads official national layers and tables of the acv-geo catalogue into the cache folder "
        "(resumable, checksummed, archives extracted safely, fields checked). Sources published per department "
        "take the <b>department</b> code (e.g. 34). The log lists the files, ready to add to the map or to use "
        "in the other algorithms.</p>"
    )

    def initAlgorithm(self, config=None):  # noqa: N802
        labels = [f"{s['name']} — {s['title']}" for s in CHOICES["sources"]]
        self.addParameter(
            QgsProcessingParameterEnum(self.SOURCES, self.tr("Sources"), options=labels, allowMultiple=True)
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.DEPARTMENT,
                self.tr("Department code for sources published per department (e.g. 34)"),
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.CACHE,
                self.tr("Cache folder (empty: the acv-geo user cache)"),
                behavior=QgsProcessingParameterFile.Folder,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(self.FORCE, self.tr("Download again even if cached"), defaultValue=False)
        )
        self.addParameter(
            QgsProcessingParameterBoolean(self.OFFLINE, self.tr("Use only the cache (offline)"), defaultValue=False)
        )
        self.addOutput(QgsProcessingOutputFolder(self.CACHE_FOLDER, self.tr("Cache folder")))
        self.addOutput(QgsProcessingOutputString(self.FILES, self.tr("Files ready")))

    def process(self, parameters, context, feedback, tmp):
        chosen = [CHOICES["sources"][i] for i in self.parameterAsEnums(parameters, self.SOURCES, context)]
        if not chosen:
            raise QgsProcessingException(self.tr("Choose at least one source."))
        dep = (self.parameterAsString(parameters, self.DEPARTMENT, context) or "").strip()
        names = []
        for s in chosen:
            if s["per_department"] and (dep or not s["national"]):
                if not dep:
                    raise QgsProcessingException(
                        self.tr("{} is published per department: give the department code").format(s["name"])
                    )
                names.append(f"{s['name']}:{dep}")
            else:
                names.append(s["name"])
        args = ["fetch", *names]
        cache = self.parameterAsFile(parameters, self.CACHE, context)
        if cache:
            args += ["--cache", cache]
        for key, flag in ((self.FORCE, "--force"), (self.OFFLINE, "--offline")):
            if self.parameterAsBoolean(parameters, key, context):
                args.append(flag)
        run = self.core(args, feedback, tmp)
        files = [
            s["path"] + (f"|layername={s['layer']}" if s.get("layer") else "") for s in run.result.get("sources", [])
        ]
        return {self.CACHE_FOLDER: run.result.get("cache_dir"), self.FILES: ";".join(files)}

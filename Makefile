# Developer shortcuts. PYTHON defaults to the project venv when it exists.
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: plugin test-plugin

## plugin: build dist/acv_geo_qgis.zip (QGIS plugin + bundled acv_geo core and data)
plugin:
	$(PYTHON) scripts/build_plugin.py

## test-plugin: run the QGIS plugin tests (real QGIS, headless)
test-plugin:
	QT_QPA_PLATFORM=offscreen $(PYTHON) -m pytest tests/qgis -q

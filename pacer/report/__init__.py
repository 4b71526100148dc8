"""``pacer report``: the physiotherapist's report from stored data, as one
self-contained HTML page, a CSV of daily rows, or a FHIR R4 Bundle.

``data`` loads the days from the store; ``findings`` works out what needs
attention; ``html`` (with ``charts`` and the template), ``csv`` and ``fhir``
render; ``command`` is the CLI entry point. Only ``html`` needs the optional
``report`` extra (Jinja2, matplotlib).
"""

"""A 28-day example history, made the way a clinic would make one: synthetic
minutes and symptom reports from :mod:`pacer.simulate`, replayed by the real
``pacer replay --store`` command. The tests build their report from it, and
``python -m pacer.report.example`` rebuilds the README's screenshot."""

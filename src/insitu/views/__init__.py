"""insitu.views: what the launch record and the telemetry show, computed without I/O.

``state`` (entities, stores, timeline of one run), ``series`` (telemetry as chart series) and
``gantt`` (the timeline as an SVG picture). ``insitu status``, ``insitu report``, the dashboard
and ``Experiment.plot_timeline`` share them, so they show the same facts. Imports only
``wire`` and ``errors``.
"""

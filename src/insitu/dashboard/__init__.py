"""insitu.dashboard: a web app over experiments' launch records and telemetry.

``insitu dashboard [EXP_PATH ...]`` serves it (:func:`insitu.dashboard.server.serve`);
``insitu report`` writes the same page as one static HTML file
(:func:`insitu.dashboard.report.write_report`). It reads files only — never the driver's
memory — so it shows a running experiment live and a finished one afterwards. It needs the
``dashboard`` extra (Starlette, uvicorn); the report does not. Tested in Chromium
(tests/browser).
"""

"""Evidence reports: self-contained HTML pages that show how an identification was reached.

::

    from leaktrace import api
    from leaktrace.report import write_report

    result = api.identify(registry, "leak.jpg")
    write_report(registry, result, "leak-report.html")

Jinja2 (autoescaped) writes the HTML and matplotlib draws the plots and pictures; both are
imported on first use only.
"""

from leaktrace.report.render import render_report, write_index, write_report

__all__ = ["render_report", "write_index", "write_report"]

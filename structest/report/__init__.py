"""The last step: a fit and its checks as an HTML report.

- :mod:`.compare`: Bayesian posteriors and reduced-form estimates side by side;
- :mod:`.plots`: the figures (matplotlib figures; no backend is chosen here);
- :mod:`.html`: :func:`~structest.report.html.write_report`;
- :mod:`.cli`: ``structest report`` (which renders with the file-only Agg backend).
"""

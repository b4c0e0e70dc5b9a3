"""The first step: data in, a validated :class:`~structest.panel.Panel` out.

- :mod:`.load`: the bundled real panel (:func:`~structest.data.load.load_panel`) and
  value-added contents (:func:`~structest.data.load.va_contents`);
- :mod:`.synthetic`: a synthetic world with known truth (:func:`structest.simulate`);
- :mod:`.describe`: coverage and preference facts of a panel;
- :mod:`.build`: the raw sources -> the bundled files (``structest data build``);
- :mod:`.cli`: ``structest data build`` and ``structest data describe``.
"""

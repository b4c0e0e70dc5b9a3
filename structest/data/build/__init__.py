"""Build the bundled data files from the raw sources in ``../shared/data/raw``.

Only ``structest data build`` imports this package's readers; the raw-file readers
(``rdata``, ``xlrd``) are build-time extras (``pip install structest[build]``).
"""

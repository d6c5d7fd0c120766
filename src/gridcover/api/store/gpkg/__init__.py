"""The default store: one GeoPackage file (``store``), its SQL helpers (``sql``), feature
tables written and read with sqlite3 (``features``) and catalog writes (``catalog``)."""

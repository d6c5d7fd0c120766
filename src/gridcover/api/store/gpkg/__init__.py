"""The default store: one GeoPackage file (``store``), its SQL helpers (``sql``), feature
tables written and read with sqlite3 (``tables``) and catalog writes (``catalog``)."""

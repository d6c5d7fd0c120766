"""The PostGIS store: the ``Store`` protocol on PostgreSQL + PostGIS (``store``), its SQL and
row-level security (``sql``), first-start set-up (``setup``) and one-feature edits (``edit``).
psycopg (the ``[postgis]`` extra) is imported only when this backend is opened."""

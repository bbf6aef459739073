"""Storage families (Postgres, SQLite + disk, Redis, process memory) and the
wrappers that turn a correct store into one of the bug modes."""

"""Officer settings of the product, stored in the database (one row per setting, changed on officer pages)."""

// IRM target.

// Analysis target.

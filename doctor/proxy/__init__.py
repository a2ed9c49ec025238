"""The proxy program and its HTTP surface: the probe client and building or installing the binary."""

"""Leaves everything stands on: paths of the runtime home, reading files without raising, atomic writes,
the journal, THE secret policy and redaction, THE loopback rule, bounded programs, shell scanning, vocabularies.
Imports nothing above itself."""

"""Readers: turn input files into Documents, Rejected records and ErrorRecords."""

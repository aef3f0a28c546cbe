"""Cross-process contracts: what two insitu processes (or a program in another language) share.

Every module here is pure (no I/O, no threads) and imports only :mod:`insitu.errors` and the
standard library, so that any process can read or write a contract without loading the rest of
insitu. Each contract has a format/parse pair and a round-trip test; docs/wire-format.md
describes them for other languages.
"""

"""CSV exports a spreadsheet opens safely, without I/O (importable from a ``domain/``).

:func:`safe_cell` turns a value into the text of one cell and neutralises text a spreadsheet would run
as a formula (CSV injection); :func:`csv_line` and :func:`csv_text` write rows of such cells with CRLF
line ends, the whole document behind one UTF-8 byte order mark (:data:`BOM`) so Excel and WPS read
Chinese text. The HTTP responses that carry them are ``shared.web``'s ``csv_response`` and
``streaming_csv_response``.
"""

from shared.tabular._csv import BOM, csv_line, csv_text, safe_cell

__all__ = ["BOM", "csv_line", "csv_text", "safe_cell"]

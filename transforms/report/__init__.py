"""The analysts' report: an HTML page and a GSS workbook, from the published file alone."""

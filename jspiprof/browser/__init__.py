"""Recording Pyodide in a real browser (`jspiprof record`): the host's side of the browser driver in `js/browser/`."""

from jspiprof.browser.recording import RecordedPage, record_page

__all__ = ["RecordedPage", "record_page"]

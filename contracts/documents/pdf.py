"""PDF from the HTML document, laid out by WeasyPrint.

Problem: the signed contract is usually a PDF; a browser's "print to PDF" is not
repeatable and not scriptable. WeasyPrint lays out HTML and CSS for print (A4 pages,
running headers, page numbers from `@page`), needs no browser, and — given no base URL
and a fetcher that refuses everything — reads nothing but the HTML it is handed, so a
template cannot make it fetch a file or a URL.

Approach: import WeasyPrint only when a PDF is asked for (it needs Pango from the
system; the other formats must not), and turn a missing library into one clear
message, exit status 3 (the environment failed).
"""

from __future__ import annotations

from typing import Any

from contracts.errors import EnvironmentFailure


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"documents load nothing from outside ({url} refused)")


def html_to_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise EnvironmentFailure(
            f"cannot write PDF: WeasyPrint is not usable here ({exc}); install it with "
            "pip install weasyprint and the Pango library (Debian: libpango-1.0-0 "
            "libpangoft2-1.0-0), or render --format html and print that"
        ) from exc
    document = weasyprint.HTML(string=html, url_fetcher=_no_fetching)
    pdf = document.write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return bytes(pdf)

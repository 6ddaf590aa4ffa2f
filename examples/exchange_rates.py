"""A synchronous command-line tool that calls an async client library through asyncio.run, once per lookup.

    jspiprof run examples/exchange_rates.py [CURRENCIES...]

The async client (`pyodide.http.pyfetch`) is wrapped for sync callers with `asyncio.run`, a common way to
port such code; inside Pyodide each `asyncio.run` stack-switches, so the lookups run one after the other.
"""

import asyncio
import json
import sys

from pyodide.http import pyfetch

from local_site import serve

_RATES_HANDLER = """(request, response) => {
  const currency = new URL(request.url, "http://localhost").pathname.slice(1).toUpperCase();
  const rate = 0.5 + (currency.charCodeAt(0) * 31 + currency.charCodeAt(1) * 7 + currency.charCodeAt(2)) % 150 / 100;
  setTimeout(() => {
    response.writeHead(200, {"Content-Type": "application/json"});
    response.end(JSON.stringify({base: "EUR", currency, rate}));
  }, 60);
}"""


async def fetch_rate(base: str, currency: str) -> float:
    response = await pyfetch(f"{base}/{currency}")
    return json.loads(await response.text())["rate"]


def rate(base: str, currency: str) -> float:
    """The sync API the rest of the tool uses."""
    return asyncio.run(fetch_rate(base, currency))


def main() -> None:
    currencies = sys.argv[1:] or ["USD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF"]
    base = serve(_RATES_HANDLER)
    for currency in currencies:
        print(f"1 EUR = {rate(base, currency):.2f} {currency}")


if __name__ == "__main__":
    main()

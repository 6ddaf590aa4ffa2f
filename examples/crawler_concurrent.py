"""The crawler of crawler.py with its article fetches made concurrent: the optimized variant.

    jspiprof run --with requests examples/crawler_concurrent.py [PAGES]

Still synchronous code: the index is fetched with `requests` as before, then all articles are fetched at
once with `pyodide.http.pyfetch` and `asyncio.gather`, inside a single `asyncio.run` (which stack-switches
once for the whole batch). The crawl then takes about as long as the slowest article.
"""

import asyncio
import sys
import time

from pyodide.http import pyfetch

import news_site
from crawler import Page, fetch, parse


async def fetch_all(urls: list[str]) -> list[str]:
    async def one(url: str) -> str:
        response = await pyfetch(url)
        if not response.ok:
            raise RuntimeError(f"{url}: HTTP {response.status}")
        return await response.text()

    return await asyncio.gather(*(one(url) for url in urls))


def crawl(base: str, pages: int) -> list[Page]:
    index = parse(fetch(f"{base}/?pages={pages}"))
    return [parse(html) for html in asyncio.run(fetch_all([base + link for link in index.links]))]


def main() -> None:
    pages = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    base = news_site.start()
    started = time.perf_counter()
    articles = crawl(base, pages)
    elapsed = time.perf_counter() - started
    print(f"crawled {len(articles)} articles, {sum(a.words for a in articles):,} words, in {elapsed:.2f} s")


if __name__ == "__main__":
    main()

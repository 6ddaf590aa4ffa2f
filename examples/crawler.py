"""A synchronous crawler, as it was written for CPython: fetch a news site's index, then each article in turn.

    jspiprof run --with requests examples/crawler.py [PAGES]

Inside Pyodide, every `requests.get` stack-switches (urllib3's emscripten backend awaits a JS `fetch`), so
the crawl spends most of its time suspended, one article after the other. See crawler_concurrent.py.
"""

import sys
import time
from html.parser import HTMLParser

import requests

import news_site


class Page(HTMLParser):
    """The title, the links and the number of words of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.title, self.links, self.words, self._in_title = "", [], 0, False

    def handle_starttag(self, tag, attrs):
        self._in_title = tag == "title"
        if tag == "a":
            self.links += [value for name, value in attrs if name == "href"]

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        else:
            self.words += len(data.split())


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def fetch(url: str) -> str:
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.text


def crawl(base: str, pages: int) -> list[Page]:
    index = parse(fetch(f"{base}/?pages={pages}"))
    articles = []
    for link in index.links:
        articles.append(parse(fetch(base + link)))
    return articles


def main() -> None:
    pages = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    base = news_site.start()
    started = time.perf_counter()
    articles = crawl(base, pages)
    elapsed = time.perf_counter() - started
    print(f"crawled {len(articles)} articles, {sum(a.words for a in articles):,} words, in {elapsed:.2f} s")


if __name__ == "__main__":
    main()

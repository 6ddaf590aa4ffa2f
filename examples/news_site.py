"""The local news site the crawlers fetch: an index page linking to N articles, each served with a
realistic latency of 40-69 ms (the same for the same article every time)."""

from local_site import serve

_HANDLER = """(request, response) => {
  const url = new URL(request.url, "http://localhost");
  const pages = Number(url.searchParams.get("pages") || 20);
  const article = url.pathname.match(/^\\/article\\/(\\d+)$/);
  if (url.pathname === "/") {
    const links = Array.from({length: pages}, (_, i) => `<li><a href="/article/${i + 1}">Story ${i + 1}</a></li>`);
    response.writeHead(200, {"Content-Type": "text/html"});
    response.end(`<html><head><title>Local News</title></head><body><ul>${links.join("")}</ul></body></html>`);
  } else if (article) {
    const id = Number(article[1]);
    const words = Array.from({length: 200 + 37 * id}, (_, i) => `word${(i * id) % 97}`).join(" ");
    setTimeout(() => {
      response.writeHead(200, {"Content-Type": "text/html"});
      response.end(`<html><head><title>Story ${id}</title></head><body><p>${words}</p></body></html>`);
    }, 40 + (id * 7) % 30);
  } else {
    response.writeHead(404);
    response.end("not found");
  }
}"""


def start() -> str:
    """Start the site; returns its base URL."""
    return serve(_HANDLER)

"""A synchronous job runner: submit render jobs to a local service, then poll each one with time.sleep.

    jspiprof run --with requests examples/job_poller.py [JOBS]

Inside Pyodide every `time.sleep` stack-switches, so each poll interval is a suspension, and every job is
noticed up to one interval after it finished.
"""

import sys
import time

import requests

from local_site import serve

POLL_INTERVAL_S = 0.25

_JOBS_HANDLER = """(() => {
  const jobs = new Map();
  return (request, response) => {
    const reply = (status, body) => {
      response.writeHead(status, {"Content-Type": "application/json"});
      response.end(JSON.stringify(body));
    };
    const url = new URL(request.url, "http://localhost");
    const job = url.pathname.match(/^\\/jobs\\/(\\d+)$/);
    if (request.method === "POST" && url.pathname === "/jobs") {
      const id = jobs.size + 1;
      const size = Number(url.searchParams.get("size") || 1);
      jobs.set(id, {done_at: Date.now() + 300 * size, size});
      reply(201, {id});
    } else if (job && jobs.has(Number(job[1]))) {
      const {done_at, size} = jobs.get(Number(job[1]));
      reply(200, Date.now() >= done_at ? {state: "done", frames: 24 * size} : {state: "running"});
    } else {
      reply(404, {error: "no such job"});
    }
  };
})()"""


def submit(base: str, size: int) -> int:
    return requests.post(f"{base}/jobs", params={"size": size}, timeout=10).json()["id"]


def wait_for(base: str, job: int) -> dict:
    while True:
        status = requests.get(f"{base}/jobs/{job}", timeout=10).json()
        if status["state"] == "done":
            return status
        time.sleep(POLL_INTERVAL_S)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    base = serve(_JOBS_HANDLER)
    started = time.perf_counter()
    jobs = [submit(base, size) for size in range(1, count + 1)]
    frames = sum(wait_for(base, job)["frames"] for job in jobs)
    print(f"{count} jobs rendered {frames} frames in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()

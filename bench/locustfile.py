"""The mixed load of ``bench/mixed.py`` for locust: 90 % map and list reads, 10 % report submissions.

Runs in locust's own (gevent) process and imports nothing of Django: the requests come ready-made from
the JSON file that ``BENCH_MIXED_PLAN`` names (written by bench/mixed.py), so every run sends the same
seeded requests. Each simulated user sends ``BENCH_MIXED_USER_RATE`` requests per second on average, at
random moments (a Poisson process, as independent citizens do), on a schedule of its own that does not wait
for slow answers: the offered load is users × rate whatever the answers' latency, an open-loop-like load that
shows whether the server keeps up, instead of slowing the clients down with it. (Before, every user kept a
constant pace from the same start: all users asked at the same moments, bursts of as many requests as users
that queued behind each other while the server was idle in between.)
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time

from locust import FastHttpUser, task

PLAN = json.loads(open(os.environ["BENCH_MIXED_PLAN"], encoding="utf-8").read())
PHOTO = open(PLAN["photo"], "rb").read() if PLAN["photo"] else None
RATE = float(os.environ.get("BENCH_MIXED_USER_RATE", "3"))
_counter = itertools.count()


class Citizen(FastHttpUser):
    # A request that takes longer than this counts as an error (as a phone app would give up).
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.rng = random.Random(next(_counter))  # which requests: the same in every run
        self.clock = random.Random()  # when: a sample of its own in every run (a seeded one would repeat its luck)
        self.due = time.monotonic()
        time.sleep(self.wait_time())  # (gevent's sleep under locust) the first request at a random moment, too

    def wait_time(self) -> float:
        # The next request's moment: exponentially distributed gaps on the user's own schedule, kept whatever the
        # answers' latency (a user behind it sends what is due at once, as requests that arrived meanwhile).
        self.due += self.clock.expovariate(RATE)
        return max(0.0, self.due - time.monotonic())

    @task(60)
    def map_view(self) -> None:
        self.client.get(self.rng.choice(PLAN["map"]), name="map /api/v1/map/")

    @task(30)
    def list_page(self) -> None:
        self.client.get(self.rng.choice(PLAN["list"]), name="list /meldungen/")

    @task(10)
    def submit(self) -> None:
        fields = self.rng.choice(PLAN["submit"])
        files = {"photos": ("foto.jpg", PHOTO, "image/jpeg")} if PHOTO else None
        with self.client.post("/api/v1/reports/", data=fields, files=files, name="submit /api/v1/reports/",
                              catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")

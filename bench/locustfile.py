"""The mixed load of ``bench/mixed.py`` for locust: 90 % map and list reads, 10 % report submissions.

Runs in locust's own (gevent) process and imports nothing of Django: the requests come ready-made from
the JSON file that ``BENCH_MIXED_PLAN`` names (written by bench/mixed.py), so every run sends the same
seeded requests. Each simulated user keeps a constant pace (``BENCH_MIXED_USER_RATE`` requests per
second), so the offered load is users × pace whatever the answers' latency: an open-loop-like load
that shows whether the server keeps up, instead of slowing the clients down with it.
"""

from __future__ import annotations

import itertools
import json
import os
import random

from locust import FastHttpUser, constant_throughput, task

PLAN = json.loads(open(os.environ["BENCH_MIXED_PLAN"], encoding="utf-8").read())
PHOTO = open(PLAN["photo"], "rb").read() if PLAN["photo"] else None
_counter = itertools.count()


class Citizen(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("BENCH_MIXED_USER_RATE", "3")))
    # A request that takes longer than this counts as an error (as a phone app would give up).
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.rng = random.Random(next(_counter))

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

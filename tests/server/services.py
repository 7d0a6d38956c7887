"""A Redis the test stops and starts, and Celery workers and beat of the test's own, for the fault tests."""
import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT, VAR, database_url, free_port


class RedisServer:
    """A Redis without persistence that the test stops and starts (empty again)."""

    def __init__(self, workdir):
        self.port, self.workdir, self.proc = free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        import redis

        self.proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                      "--appendonly", "no", "--dir", str(self.workdir)], stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


class Services:
    """Workers and beat on this test's Redis and database; every process is stopped at the end."""

    def __init__(self, redis_url, tmp):
        self.env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url(),
                    "BELLMAN_HEARTBEAT_SECONDS": "1", "BELLMAN_SWEEP_SECONDS": "2"}
        self.env.pop("BELLMAN_TEST_DATABASE", None)
        self.env.pop("BELLMAN_TEST_POSTGRES_URL", None)
        self.tmp, self.procs = tmp, []

    def _start(self, args, name, **env):
        log = open(VAR / "test" / f"{name}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "server.celery", *args], cwd=ROOT,
                                env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def worker(self, name, pool="solo", queues="celery,training", **env):
        return self._start(["worker", "--pool", pool, "--concurrency", "1", "--loglevel", "INFO",
                            "--without-gossip", "--without-mingle", "--queues", queues,
                            "--hostname", f"{name}-{os.getpid()}@%h"], f"fault-{name}", **env)

    def beat(self):
        return self._start(["beat", "--loglevel", "INFO", "--schedule", str(self.tmp / "beat-schedule")], "fault-beat")

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


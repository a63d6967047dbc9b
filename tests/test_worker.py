"""The RQ wiring with a real Redis and a real `worker.py` process."""
import json
import zlib

from rq.job import Job

from crm.queue import SERIALIZER, get_queue


def test_health_job_runs_in_a_real_worker_with_an_app_context(app, users, run_worker, redis_conn):
    job = get_queue("default").enqueue("crm.jobs.health.ping", "hello")
    done = run_worker()
    assert done.returncode == 0, done.stderr
    job = Job.fetch(job.id, connection=redis_conn, serializer=SERIALIZER)
    assert job.get_status() == "finished"
    assert job.return_value() == {"token": "hello", "users": 4, "app": "crm"}


def test_a_failing_job_lands_in_the_failed_registry(app, run_worker, redis_conn):
    queue = get_queue("documents")
    job = queue.enqueue("crm.jobs.health.fail", "boom")
    done = run_worker()
    assert done.returncode == 0, done.stderr
    assert job.id in queue.failed_job_registry.get_job_ids()
    job = Job.fetch(job.id, connection=redis_conn, serializer=SERIALIZER)
    assert "RuntimeError: boom" in job.latest_result().exc_string


def test_jobs_use_the_json_serializer(app, redis_conn):
    job = get_queue("default").enqueue("crm.jobs.health.ping", "x")
    payload = json.loads(zlib.decompress(redis_conn.hget(job.key, "data")))  # JSON, not a pickle
    assert payload[0] == "crm.jobs.health.ping" and payload[2] == ["x"]

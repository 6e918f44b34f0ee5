"""The named peer of ``bench_jobs.py``: Celery with a Redis broker and result backend."""

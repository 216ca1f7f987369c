"""The Celery app. Configuration lives in Django settings under the CELERY_ namespace."""

import os
import traceback

from celery import Celery, bootsteps
from celery.signals import task_failure
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncer.settings.base")

app = Celery("syncer")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Declared in the order workers take them (settings.CELERY_WORKER_QUEUES, strict priority).
app.conf.task_queues = [Queue(name) for name in settings.CELERY_WORKER_QUEUES]
app.autodiscover_tasks()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Writes this worker's heartbeat to Redis so /healthz can tell a live worker from none."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.timer_ref = None

    def start(self, worker):
        from django.conf import settings

        from syncer.health import worker_heartbeat_write

        worker_heartbeat_write(hostname=worker.hostname)
        self.timer_ref = worker.timer.call_repeatedly(
            settings.CELERY_WORKER_HEARTBEAT_INTERVAL,
            worker_heartbeat_write,
            kwargs={"hostname": worker.hostname},
            priority=10,
        )

    def stop(self, worker):
        from syncer.health import worker_heartbeat_clear

        if self.timer_ref is not None:
            self.timer_ref.cancel()
        worker_heartbeat_clear(hostname=worker.hostname)


app.steps["worker"].add(WorkerHeartbeat)


@task_failure.connect
def _task_failure_record(sender=None, exception=None, **kwargs) -> None:
    """Tasks run with ignore_result, so nothing else remembers a failure: /healthz and the
    System status page read these records. Retries are not failures; the last one is."""
    from syncer.health import task_failure_record

    error = "".join(traceback.format_exception_only(exception)).strip() if exception else ""
    task_failure_record(task_name=getattr(sender, "name", str(sender)), error=error)

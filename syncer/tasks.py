from celery import shared_task

from syncer.health import beat_heartbeat_write


@shared_task(ignore_result=True)
def beat_heartbeat() -> None:
    """Scheduled by beat so operators can see beat is alive (key expires when it stops)."""
    beat_heartbeat_write()

"""Background work on Celery: the same pipeline and enricher, run by workers.

``app`` builds the Celery application, ``tasks`` holds the tasks, ``scheduler``
queues due sources, ``locks`` serialises enrichment across workers. Without a
broker (``NEWSDESK_BROKER_URL`` empty) none of this runs and the CLI does the
work in-process.
"""

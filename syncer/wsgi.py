import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncer.settings.base")

django_application = get_wsgi_application()

# Imported once Django is set up (the app registry must be ready for its models).
from webhooks.ingest import webhook_ingest_app  # noqa: E402

# POST /webhooks/shopify is answered in front of Django, with the view's checks and answers
# and none of the middleware (issue 22: the path that sees every event of every shop); every
# other request is Django's.
application = webhook_ingest_app(django_application)

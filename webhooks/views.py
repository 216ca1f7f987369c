from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from webhooks.ingest import webhook_ingest


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, record, answer (webhooks.ingest). In production syncer/wsgi.py serves this URL
    in front of Django with the same function; this view serves it wherever Django's handler
    is called directly (the test client, another server's WSGI entry point)."""
    # The raw stream, not request.body: the HMAC covers the exact bytes Shopify sent.
    answer = webhook_ingest(environ=request.META)
    return JsonResponse(answer.payload, status=answer.status)

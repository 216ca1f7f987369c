FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
# Settings refuse to load without their required values; collectstatic connects to nothing.
RUN SECRET_KEY=build SHOPIFY_API_KEY=build SHOPIFY_API_SECRET=build TOKEN_ENCRYPTION_KEYS=build \
    DATABASE_URL=postgres://build@127.0.0.1/build REDIS_URL=redis://127.0.0.1:6379/0 \
    python manage.py collectstatic --noinput -v 0
EXPOSE 8000 8765
CMD ["gunicorn", "syncer.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--worker-class", "gthread", "--threads", "8", "--keep-alive", "30"]

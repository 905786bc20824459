# One image for every Plantbus service: `plantbus run SERVICE` is the entry point.
# Build:  docker build -t plantbus:dev .
# Vendors extend it:  FROM plantbus:X  then  RUN pip install --no-cache-dir plantbus-driver-acme

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir --upgrade pip build wheel
COPY pyproject.toml README.md ./
COPY services ./services
# the demo plant (services/plantbus/sim/plant links to it) and plantbus-api (plantbus.v1)
COPY examples ./examples
COPY api ./api
COPY plugins ./plugins
# Wheels for plantbus-api, the core and every built-in plugin except the vendor template.
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels ./api . \
    && for p in plugins/*/; do \
         [ "$(basename "$p")" = template ] || python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels "$p"; \
       done

FROM python:3.11-slim
LABEL org.opencontainers.image.title="plantbus" \
      org.opencontainers.image.description="IT/OT integration hub: device access, OEE, ERP sync, alerting"
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 \
    PLANTBUS_DATA_DIR=/var/lib/plantbus PLANTBUS_GRPC_HOST=0.0.0.0 PLANTBUS_LOG_FORMAT=json
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --uid 10001 --create-home --home-dir /home/plantbus plantbus \
    && mkdir -p /var/lib/plantbus && chown 10001:10001 /var/lib/plantbus
USER 10001
WORKDIR /home/plantbus
EXPOSE 50051 50052 50053 50054 50055 50056 8080 9464
ENTRYPOINT ["plantbus", "run"]
CMD ["--help"]

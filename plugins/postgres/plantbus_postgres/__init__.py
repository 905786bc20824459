"""The PostgreSQL historian store for Plantbus: COPY ingest, time partitions or
TimescaleDB, SQL views for IT tools and Grafana."""

# caseledger's image: one image, every process (`caseledger api`, `relay`, `consume`, `timers`, the tools).
# Build: docker build -t caseledger .     Run: see deploy/compose.yaml.

# --- build: wheels of caseledger and of everything it depends on (no compiler needed in the final image)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY domain domain
COPY projections projections
COPY consumers consumers
COPY api api
COPY infra infra
COPY cli cli
# No extras: a production install has no embedded PostgreSQL or broker; it is given their URLs.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- run: the installed wheels, a user of its own, nothing else
FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home caseledger
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels caseledger && rm -rf /wheels
USER 10001:10001
WORKDIR /app
ENV PYTHONUNBUFFERED=1 \
    CASELEDGER_API_HOST=0.0.0.0 \
    CASELEDGER_DATA_DIR=/app/data
EXPOSE 8000
ENTRYPOINT ["caseledger"]
CMD ["api"]

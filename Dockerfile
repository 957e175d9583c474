# The Datasette site of bazhong-accounts, read-only, on port 8001.
#   docker build -t bazhong-accounts-site . && docker run --rm -p 8001:8001 bazhong-accounts-site
# Untested: docker cannot run on the machine this was written on.
FROM python:3.11-slim-bookworm

# fonts-noto-cjk: the charts have Chinese labels.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir -c constraints.txt . \
 && /venv/bin/bazhong-accounts validate . \
 && /venv/bin/bazhong-accounts build . --out site/bazhong.db

EXPOSE 8001
USER nobody
CMD ["/venv/bin/datasette", "serve", "-i", "site/bazhong.db", "-h", "0.0.0.0", "-p", "8001", \
     "--metadata", "site/metadata.json", "--template-dir", "site/templates", \
     "--static", "charts:site/static/charts", \
     "--setting", "sql_time_limit_ms", "1000", "--setting", "max_returned_rows", "2000", \
     "--setting", "facet_time_limit_ms", "200", "--setting", "suggest_facets", "off"]

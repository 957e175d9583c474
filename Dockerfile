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
# The serve settings live in bazhong_accounts/site/serve.py; --host 0.0.0.0 so the port mapping reaches it.
CMD ["/venv/bin/bazhong-accounts", "serve", ".", "--db", "site/bazhong.db", "--host", "0.0.0.0", "--port", "8001"]

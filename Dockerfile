# One image for every Doorstroom service; pick the service with the command, e.g.
#   docker run --rm doorstroom python -m services.dossier
# (docker-compose.yml does this for each service).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system --gid 10001 doorstroom \
 && useradd --system --uid 10001 --gid doorstroom --no-create-home \
            --home-dir /app --shell /usr/sbin/nologin doorstroom

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Then the project itself. The sources stay in /app (the working directory, first on
# sys.path for `python -m`), so data files next to the code are always found. The code is
# read-only for the service user; /app/var is the one writable place (scratch files).
COPY shared ./shared
COPY services ./services
RUN pip install --no-deps --no-compile . \
 && rm -rf build *.egg-info \
 && mkdir -p /app/var \
 && chown doorstroom:doorstroom /app/var

USER doorstroom

ENV HTTP_HOST=0.0.0.0 \
    LOG_LEVEL=INFO

# identity 8081, dossier 8082, notification 8083, document 8084 (HTTP_PORT overrides)
EXPOSE 8081 8082 8083 8084

CMD ["python", "-m", "services.identity"]

# policy-monitor service image: `monitor run` as a non-root user, the SQLite DB on a volume.
# Build and run (see README "Docker로 운영하기"):
#   docker build -t policy-monitor .
#   docker run -d --name policy-monitor -v policy-monitor-data:/data \
#     -e ASSEMBLY_API_KEY -e SLACK_BOT_TOKEN -e SLACK_CHANNEL policy-monitor
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TZ=Asia/Seoul \
    MONITOR_TZ=Asia/Seoul \
    MONITOR_DB=/data/monitor.db \
    MONITOR_SOURCES=/app/sources.yaml \
    MONITOR_RULES=/app/rules \
    PATH=/opt/venv/bin:$PATH

# tzdata for the system clock's zone (Python also ships its own tzdata package)
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# setup.py copies sources.yaml and rules/ into the package while it is built (monitor/shipped/)
COPY pyproject.toml setup.py MANIFEST.in README.md sources.yaml ./
COPY rules ./rules
COPY monitor ./monitor
# the same install as the README's first command, into a virtual environment
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

RUN useradd --create-home --uid 10001 monitor && mkdir -p /data && chown monitor:monitor /data
USER monitor
VOLUME ["/data"]

# `monitor status` says healthy, degraded (a source failing, stale or not yet collected: still
# serving) or failing (the DB missing, damaged or not writable, a poll stuck past its deadline, a
# source, delivery or scheduler job that keeps failing). Failing marks the container unhealthy,
# and so does a status that printed no verdict at all (a crash, a broken config).
HEALTHCHECK --interval=5m --timeout=60s --start-period=5m \
    CMD monitor status --json | grep -Eq '^\{"status": "(healthy|degraded)"'

# `docker stop` sends SIGTERM and kills after 10 s: `monitor run` lets a running poll finish for
# at most 7 s (--grace) and then leaves it rolled back, so it exits 0 inside that timeout. A longer
# --grace needs a longer stop timeout (`docker run --stop-timeout`, compose `stop_grace_period`).
STOPSIGNAL SIGTERM
# the read-only web view of `monitor run --web --host 0.0.0.0` (set MONITOR_WEB_TOKEN first; README
# "웹 보기"); publish it with `-p 127.0.0.1:8080:8080` behind an HTTPS proxy
EXPOSE 8080
# exec form: SIGTERM reaches Python, which stops the scheduler cleanly
CMD ["monitor", "run"]

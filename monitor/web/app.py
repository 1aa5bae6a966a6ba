"""The read-only web view (issue 16): Starlette routes rendering Jinja2 templates, GET only.

Every request opens its own read-only Store (`mode="read"`: SQLite `mode=ro`, never creating
or migrating a file it may not write) and closes it before the response is sent. Nothing here
writes. Templates autoescape everything; responses carry a Content-Security-Policy that allows
no script at all, so even a mistake in escaping could not run one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from monitor.config import RuleSet, Settings, SourcesFile
from monitor.digest import Context
from monitor.errors import StoreError
from monitor.health import health_line
from monitor.ical import DAYS_AHEAD, calendar_feed
from monitor.status_report import collect
from monitor.store import Store
from monitor.text import now
from monitor.web import views
from monitor.web.auth import TokenGuard
from monitor.web.chart import topic_stage_chart

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
Config = Callable[[], tuple[SourcesFile, RuleSet]]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("monitor.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def create_app(settings: Settings, config: Config, token: str | None) -> Any:
    """The ASGI app: routes behind the MONITOR_WEB_TOKEN guard.

    `config` returns the current sources and rules (source names, topic and rule labels; the
    service passes its reloaded config). `token`: what every request must carry (auth.TokenGuard;
    `auth.token_from_env` reads MONITOR_WEB_TOKEN); None serves without a lock.
    """
    env = _environment()

    def context() -> Context:
        sources, ruleset = config()
        return Context(
            notify=sources.notify, ruleset=ruleset, source_names={s.id: s.name for s in sources.sources},
            source_kinds={s.id: s.kind for s in sources.sources}, today=now().date(),
        )  # fmt: skip

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = env.get_template(name).render(**values)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def unavailable(error: StoreError) -> HTMLResponse:
        return page("error.html", 503, title="DB를 열 수 없습니다", message=str(error), nav="")

    def with_store(render: Callable[[Store, Context], Response]) -> Response:
        try:
            store = Store(settings.db, mode="read")
        except StoreError as e:
            return unavailable(e)
        try:
            return render(store, context())
        finally:
            store.close()

    def index(request: Request) -> Response:
        def render(store: Store, ctx: Context) -> Response:
            counts, stages = views.chart_counts(store, ctx)
            sources, _ = config()
            report = collect(settings.db, sources)
            health = {
                "word": {"healthy": "정상", "degraded": "일부 문제", "failing": "장애"}[report.word],
                "state": report.word,
                "line": health_line(report.status.sources) if report.status else (report.error or ""),
            }
            return page(
                "index.html", nav="home", today=ctx.today, agenda=views.agenda(store, ctx),
                deadlines=views.deadlines(store, ctx), moved=views.moved(store, ctx), health=health,
                chart=topic_stage_chart(counts, stages) if counts else None, week=views.WEEK,
                deadline_days=views.DEADLINE_DAYS,
            )  # fmt: skip

        return with_store(render)

    def matters(request: Request) -> Response:
        q = request.query_params
        chosen = {k: (q.get(k) or "").strip() for k in ("topic", "stage", "law", "period")}

        def render(store: Store, ctx: Context) -> Response:
            rows = views.matter_list(store, ctx, **{k: v or None for k, v in chosen.items()})
            topics = [(t.topic, t.label) for t in ctx.ruleset.topics]
            return page(
                "matters.html", nav="matters", rows=rows, chosen=chosen, topics=topics,
                stages=views.stages_in_use(store), periods=views.PERIODS,
            )  # fmt: skip

        return with_store(render)

    def matter(request: Request) -> Response:
        raw = request.path_params["matter_id"]

        def render(store: Store, ctx: Context) -> Response:
            found = views.matter_page(store, ctx, int(raw)) if raw.isdigit() else None
            if found is None:
                message = f"사안 #{raw} 이(가) 없습니다. 사안 목록에서 다시 찾아 보세요."
                return page("error.html", 404, title="사안을 찾지 못했습니다", message=message, nav="matters")
            return page("matter.html", nav="matters", m=found)

        return with_store(render)

    def search(request: Request) -> Response:
        query = (request.query_params.get("q") or "").strip()[:200]

        def render(store: Store, ctx: Context) -> Response:
            return page("search.html", nav="search", result=views.search(store, ctx, query), query=query)

        return with_store(render)

    def calendar(request: Request) -> Response:
        def render(store: Store, ctx: Context) -> Response:
            sources, _ = config()
            days = sources.calendar.days if sources.calendar else DAYS_AHEAD
            return Response(
                calendar_feed(store, ctx, days), media_type="text/calendar; charset=utf-8",
                headers={**SECURITY_HEADERS, "Content-Disposition": 'inline; filename="calendar.ics"'},
            )  # fmt: skip

        return with_store(render)

    def health(request: Request) -> Response:
        sources, _ = config()
        report = collect(settings.db, sources)
        body = dict(report.to_json(), exit_code=report.code)
        # 200 while it serves (healthy or degraded), 503 when `monitor status` would exit 2
        return Response(
            json.dumps(body, ensure_ascii=False, default=str), status_code=503 if report.code == 2 else 200,
            media_type="application/json", headers=SECURITY_HEADERS,
        )  # fmt: skip

    def stylesheet(request: Request) -> Response:
        return FileResponse(STATIC / "style.css", media_type="text/css", headers=SECURITY_HEADERS)

    def not_found(request: Request, exc: Exception) -> Response:
        return page("error.html", 404, title="없는 페이지입니다", message="주소를 확인하세요.", nav="")

    def not_allowed(request: Request, exc: Exception) -> Response:
        text = "읽기 전용입니다 (GET 만 받습니다).\n"
        return Response(text, status_code=405, headers={"Allow": "GET, HEAD"}, media_type="text/plain")

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/matters", matters, methods=["GET"]),
        Route("/matters/{matter_id}", matter, methods=["GET"]),
        Route("/search", search, methods=["GET"]),
        Route("/calendar.ics", calendar, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/static/style.css", stylesheet, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    return TokenGuard(app, token)

"""Where sources.yaml and rules/ come from: an option, the environment, this folder, or the shipped copy.

The package ships the repository's `sources.yaml` and `rules/*.yaml` (setup.py copies them into
`monitor/shipped/` when a wheel is built; an editable install reads them from the checkout).
Without `--sources`/`--rules`, `MONITOR_SOURCES`/`MONITOR_RULES` and `./sources.yaml`/`./rules`,
commands use the shipped copies and say so; `monitor init DIR` writes editable copies.

A demo DB (`monitor demo --db demo.db`) keeps its own sources beside it (`demo.sources.yaml`):
commands on that DB use them unless told otherwise, so they show the demo's sources.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent

# how a config path was chosen; the words name the option or variable behind it
OPTION = "option"
ENV = "env"
CWD = "cwd"
DEMO = "demo"
SHIPPED = "shipped"

OPTION_OF = {"sources": "--sources", "rules": "--rules", "db": "--db"}
ENV_OF = {"sources": "MONITOR_SOURCES", "rules": "MONITOR_RULES", "db": "MONITOR_DB"}
WHAT = {"sources": "소스 설정 파일", "rules": "규칙 폴더"}
WHAT_EN = {"sources": "sources file", "rules": "rules folder"}


def shipped_dir() -> Path | None:
    """The folder holding the shipped `sources.yaml` and `rules/`, or None if neither copy exists.

    A wheel carries them in `monitor/shipped/`; a checkout (editable install, or running from the
    repository) has them at its top level, beside pyproject.toml.
    """
    packaged = PACKAGE / "shipped"
    checkout = PACKAGE.parent
    for folder in (packaged, checkout):
        if folder is checkout and not (checkout / "pyproject.toml").is_file():
            continue
        if (folder / "sources.yaml").is_file() and (folder / "rules").is_dir():
            return folder
    return None


def demo_sources_path(db: Path) -> Path:
    """Where a demo DB keeps its own sources: `demo.db` → `demo.sources.yaml` beside it."""
    return db.with_name(f"{db.stem or db.name}.sources.yaml")


@dataclass(frozen=True)
class Choice:
    """One config path and how it was chosen (OPTION, ENV, CWD, DEMO or SHIPPED)."""

    path: Path
    origin: str


def choose(name: str, option: str | None, db: Path | None = None) -> Choice:
    """Pick the sources file (name="sources") or rules folder (name="rules").

    Order: the command-line option, the MONITOR_* variable, (sources only) a demo DB's own
    sources beside it, `./sources.yaml` or `./rules` in the working folder, the shipped copy.
    When nothing exists the answer is the working-folder path, so the error names it.
    """
    if option:
        return Choice(Path(option), OPTION)
    env = os.environ.get(ENV_OF[name])
    if env:
        return Choice(Path(env), ENV)
    if name == "sources" and db is not None and demo_sources_path(db).is_file():
        return Choice(demo_sources_path(db), DEMO)
    local = Path("./sources.yaml" if name == "sources" else "./rules")
    if local.exists():
        return Choice(local, CWD)
    shipped = shipped_dir()
    if shipped is not None:
        return Choice(shipped / ("sources.yaml" if name == "sources" else "rules"), SHIPPED)
    return Choice(local, CWD)


def not_found_hint(name: str, origin: str) -> str:
    """What set a path that does not exist, and how to change it (one clause, Korean first)."""
    option, env = OPTION_OF[name], ENV_OF[name]
    if origin == OPTION:
        return (
            f"{option} 로 지정한 경로입니다. 경로를 고치거나 'monitor init 폴더' 로 만드세요 "
            f"(set by {option})"
        )
    if origin == ENV:
        return (
            f"환경 변수 {env} 로 지정한 경로입니다. {env} 를 고치거나 지우세요 (set by {env}; "
            f"{option} overrides it)"
        )
    return (
        f"기본 위치입니다. {option} 또는 {env} 로 다른 위치를 지정하거나 'monitor init' 으로 "
        f"만드세요 (default location; set it with {option} or {env})"
    )


def notice(sources: Choice | None, rules: Choice | None) -> str | None:
    """The one line saying that shipped defaults or a demo DB's own sources are in use, if they are."""
    parts: list[str] = []
    shipped = [c for c in (sources, rules) if c is not None and c.origin == SHIPPED]
    if shipped:
        missing = ", ".join("./sources.yaml" if c is sources else "./rules" for c in shipped)
        parts.append(
            f"함께 설치된 기본 설정을 씁니다 (이 폴더에 {missing} 없음). 고쳐 쓰려면 'monitor init', "
            "다른 위치는 --sources/--rules 또는 MONITOR_SOURCES/MONITOR_RULES"
        )
    if sources is not None and sources.origin == DEMO:
        parts.append(f"데모 DB 의 소스 설정을 씁니다: {sources.path} (다른 설정은 --sources)")
    return "참고: " + "; ".join(parts) if parts else None


def init(folder: Path, force: bool = False) -> list[Path]:
    """Write editable copies of the shipped sources.yaml and rules/*.yaml into folder.

    Returns the files written. Raises FileExistsError (listing them) when some already exist and
    force is not set, and FileNotFoundError when the package carries no shipped copy.
    """
    shipped = shipped_dir()
    if shipped is None:
        raise FileNotFoundError(str(PACKAGE / "shipped"))
    pairs = [(shipped / "sources.yaml", folder / "sources.yaml")]
    pairs += [(rule, folder / "rules" / rule.name) for rule in sorted((shipped / "rules").glob("*.yaml"))]
    existing = [dst for _, dst in pairs if dst.exists()]
    if existing and not force:
        raise FileExistsError(", ".join(str(p) for p in existing))
    (folder / "rules").mkdir(parents=True, exist_ok=True)
    for src, dst in pairs:
        shutil.copyfile(src, dst)
    return [dst for _, dst in pairs]

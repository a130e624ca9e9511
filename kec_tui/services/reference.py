"""Policies, procedures, department training documents and the rate schedules, at hand.

The documents are Markdown files the co-op edits in the policies folder of the data directory (the
setting `policies_dir`): one file a document, its first `# ` heading its title; files under
`training/` are the department's training documents (the training walkthroughs link to them by
name). The demo's documents ship in the package (kec_tui/data/policies/) and are copied to the
folder when missing, never over the co-op's edits. The rate schedules are one more document, made
from the stored rates (services/rates.py), never a file that could disagree with billing.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kec_tui.config import default_data_dir
from kec_tui.services import rates
from kec_tui.services.errors import NotFound

RATES = "rates"                 # the name of the rate schedules' document
TRAINING = "training"           # the training documents' subfolder (and kind)
SNIPPET = 70


@dataclass(frozen=True)
class Document:
    name: str                   # "deposits", "training/online-account-help", "rates"
    title: str
    kind: str                   # policy, training, rates


@dataclass(frozen=True)
class Hit:
    document: Document
    matches: int                # how often the words occur
    snippet: str                # the first line that has one of them


def policies_dir(settings) -> Path:
    return Path(settings.policies_dir or default_data_dir() / "policies").expanduser()


def packaged_dir() -> Path:
    return Path(str(resources.files("kec_tui") / "data" / "policies"))


def ensure_documents(directory: Path) -> list[Path]:
    """Copy the shipped documents missing from `directory` (made if missing); the ones copied.
    A document the co-op edited or removed on purpose stays as it is only if it exists: an
    unreadable folder is left alone (the screen lists what it can read)."""
    copied: list[Path] = []
    source = packaged_dir()
    try:
        for src in sorted(source.rglob("*.md")):
            dest = directory / src.relative_to(source)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                copied.append(dest)
    except OSError:
        pass
    return copied


def _title(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("# "):
                    return line[2:].strip()
    except OSError:
        pass
    return path.stem.replace("-", " ").capitalize()


def documents(directory: Path) -> list[Document]:
    """Policies (by title), then training documents, then the rate schedules."""
    docs: list[Document] = []
    if directory.is_dir():
        for path in directory.rglob("*.md"):
            rel = path.relative_to(directory).with_suffix("").as_posix()
            kind = TRAINING if rel.startswith(TRAINING + "/") else "policy"
            docs.append(Document(rel, _title(path), kind))
    docs.sort(key=lambda d: (d.kind != "policy", d.title.lower()))
    docs.append(Document(RATES, "Rate schedules", "rates"))
    return docs


def _path(directory: Path, name: str) -> Path:
    path = (directory / f"{name}.md").resolve()
    if directory.resolve() not in path.parents or not path.is_file():
        raise NotFound(f"No document {name!r} in {directory}", "document")
    return path


def read(directory: Path, name: str) -> str:
    """The Markdown of a document (the rate schedules made from the stored rates)."""
    if name == RATES:
        return rates.schedules_markdown()
    try:
        return _path(directory, name).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise NotFound(f"Cannot read {name}: {exc.strerror or exc}", "document") from exc


def find(directory: Path, name: str) -> Document:
    for d in documents(directory):
        if d.name == name:
            return d
    raise NotFound(f"No document {name!r} in {directory}", "document")


def words(query: str) -> list[str]:
    return [w for w in re.findall(r"[\w$%.]+", query.lower()) if w.strip(".")]


def search(directory: Path, query: str) -> list[Hit]:
    """The documents holding every word of `query` (any case, any order), most matches first;
    an empty query lists them all."""
    want = words(query)
    hits: list[Hit] = []
    for doc in documents(directory):
        try:
            text = read(directory, doc.name)
        except NotFound:
            continue
        low = (doc.title + "\n" + text).lower()
        if not all(w in low for w in want):
            continue
        count = sum(low.count(w) for w in want)
        snippet = ""
        for line in text.splitlines():
            if want and any(w in line.lower() for w in want) and not line.startswith("# "):
                snippet = line.strip(" #*-")
                break
        if len(snippet) > SNIPPET:
            first = min((snippet.lower().find(w) for w in want if w in snippet.lower()), default=0)
            start = max(0, first - 20)
            snippet = ("..." if start else "") + snippet[start:start + SNIPPET] + "..."
        hits.append(Hit(doc, count, snippet))
    if want:
        hits.sort(key=lambda h: -h.matches)
    return hits

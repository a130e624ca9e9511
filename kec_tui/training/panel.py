"""The on-screen guide of training mode, and the list of walkthroughs.

TrainingPanel is a band docked at the bottom of every work screen, above its
Footer: a title line (TRAINING, the walkthrough, step k of n), the current
page of the step (what to do, hints, why) and a status line (what a check
found, the keys). It cannot take the focus and has no key bindings: keys
always go to the work screen. Ctrl+G (the app's priority binding
app.training_next) shows the next page; after the last one the band folds to
its title line, and Ctrl+G opens it again. At 80x24 the band is 4 lines; on a
terminal of 30 lines or more it has room for 5 lines of text.
"""
from __future__ import annotations

import textwrap

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from kec_tui.keymap import bind
from kec_tui.widgets.dialogs import Dialog

TALL = 30            # terminal lines from which the panel shows more text
SHORT_BODY = 2       # text lines of the panel below TALL (the band is then 4 lines)
TALL_BODY = 5


def key_name(app, binding_id: str, default: str) -> str:
    """The first key of an app binding in the operator's keymap, as people write it (Ctrl+G)."""
    keys = (getattr(app, "user_keymap", None) or {}).get(binding_id, default)
    first = keys.split(",")[0].strip()
    return "+".join(part.upper() if len(part) <= 3 and part.startswith("f") else part.capitalize()
                    for part in first.split("+"))


class TrainingPanel(Widget, can_focus=False, can_focus_children=False):
    """The training guide: drawn on every screen, never focused."""

    DEFAULT_CSS = """
    TrainingPanel {
        dock: bottom;
        height: 4;
        padding: 0 1;
        background: $warning-muted;
        color: $text;
    }
    TrainingPanel > .training-panel--title { text-style: bold reverse; color: $text-warning; }
    TrainingPanel > .training-panel--label { text-style: bold; color: $text-warning; }
    TrainingPanel > .training-panel--status { color: $text-muted; }
    TrainingPanel > .training-panel--feedback { text-style: bold; color: $text-error; }
    TrainingPanel > .training-panel--done { text-style: bold; color: $text-success; }
    """
    COMPONENT_CLASSES = {"training-panel--title", "training-panel--label", "training-panel--status",
                         "training-panel--feedback", "training-panel--done"}

    def __init__(self) -> None:
        super().__init__(id="training-panel")

    @property
    def trainer(self):
        return getattr(self.app, "trainer", None)

    def on_mount(self) -> None:
        self.sync()

    def on_resize(self) -> None:
        self.sync()

    def body_lines(self) -> int:
        return TALL_BODY if self.app.size.height >= TALL else SHORT_BODY

    def text_width(self) -> int:
        return max(20, (self.size.width or self.app.size.width) - 2)

    def pages(self) -> list[tuple[str, list[str], bool]]:
        """The step's texts wrapped to the panel and cut into pages of body_lines:
        (label, lines, whether the next page continues this text)."""
        trainer = self.trainer
        if trainer is None:
            return [("", [], False)]
        width, body = self.text_width(), self.body_lines()
        out: list[tuple[str, list[str], bool]] = []
        for label, content in trainer.texts():
            lines: list[str] = []
            prefix = f"{label}: " if label else ""
            for i, para in enumerate(content.split("\n")):
                lead = prefix if i == 0 else ""
                wrapped = textwrap.wrap(lead + para, width, subsequent_indent="   " if not label else "") or [""]
                lines += wrapped
            chunks = [lines[i:i + body] for i in range(0, len(lines), body)] or [[]]
            for k, chunk in enumerate(chunks):
                out.append((label if k == 0 else "", chunk, k + 1 < len(chunks)))
        return out or [("", [], False)]

    def sync(self) -> None:
        """Height (folded: 1 line) and the gap for the screen's Footer; then redraw."""
        trainer = self.trainer
        folded = trainer is not None and trainer.folded
        height = 1 if folded else self.body_lines() + 2
        footer = next((f for f in self.screen.query(Footer) if f.parent is self.screen and f.display), None)
        gap = 1 if footer is not None else 0
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height
        if self.styles.margin.bottom != gap:
            self.styles.margin = (0, 0, gap, 0)
        self.refresh()

    def _title(self, width: int) -> Text:
        trainer = self.trainer
        title = trainer.title_line() if trainer else "TRAINING"
        if len(title) > width:
            title = title.replace("TRAINING — practice database", "TRAINING")
        if len(title) > width:
            title = title[: width - 1] + "…"
        return Text(title.ljust(width), style=self.get_component_rich_style("training-panel--title"))

    def render(self) -> Text:
        trainer = self.trainer
        width = self.text_width()
        out = self._title(width)
        next_key = key_name(self.app, "app.training_next", "ctrl+g")
        list_key = key_name(self.app, "app.training_menu", "ctrl+l")
        if trainer is None:
            return out
        if trainer.folded:
            out.append_text(Text(f"  {next_key} opens the guide"[: max(0, width - len(out.plain))]))
            return out
        pages = self.pages()
        index = trainer.page % len(pages)
        label, lines, more = pages[index]
        body = self.body_lines()
        status = trainer.status()
        what = "more" if more else ("next" if index + 1 < len(pages) else "fold")
        if status:
            keys = f"{next_key} {what} {index + 1}/{len(pages)}"
        else:
            keys = f"{next_key}: {what} ({index + 1}/{len(pages)}) · {list_key}: walkthroughs"
        room = max(0, width - len(keys) - 2)
        style = self.get_component_rich_style(
            "training-panel--done" if status.startswith("✔") else
            "training-panel--feedback" if status else "training-panel--status")
        # A status too long for its line (what a check found wrong) takes the text lines from the
        # bottom up: it is what the trainee needs now; Ctrl+G still pages through the step.
        status_lines: list[str] = []
        if len(status) > room:
            status_lines = textwrap.wrap(status, width)
            if len(status_lines) > body:
                status_lines = status_lines[:body]
                status_lines[-1] = status_lines[-1][: width - 1] + "…"
            status = ""
        for i in range(body - len(status_lines)):
            out.append("\n")
            line = lines[i] if i < len(lines) else ""
            if i == 0 and label and line.startswith(f"{label}: "):
                label_style = "training-panel--done" if label == "Complete" else "training-panel--label"
                out.append(f"{label}:", style=self.get_component_rich_style(label_style))
                out.append(line[len(label) + 1:])
            else:
                out.append(line)
        for line in status_lines:
            out.append("\n")
            out.append(line, style=style)
        out.append("\n")
        out.append(status, style=style)
        out.append(" " * max(1, width - len(status) - len(keys)))
        out.append(keys, style=self.get_component_rich_style("training-panel--status"))
        return out


def wants_panel(screen) -> bool:
    """Our work screens and their dialogs; not the lock screen, the list of walkthroughs or
    Textual's own screens (the command palette)."""
    module = type(screen).__module__
    return (module.startswith("kec_tui.") and not isinstance(screen, TrainingMenu)
            and not screen.app.showing("lock", screen))


def ensure_panel(screen) -> None:
    """A TrainingPanel on this screen (once); resized for its Footer."""
    if screen is None or not wants_panel(screen):
        return
    found = list(screen.query(TrainingPanel))
    if found:
        for panel in found:
            panel.sync()
        return
    if screen.is_mounted:
        screen.mount(TrainingPanel())
    elif screen.is_attached:
        screen.call_after_refresh(ensure_panel, screen)   # being mounted: right after its first frame


class TrainingMenu(Dialog[None]):
    """Training: the walkthroughs."""

    HELP = ("The guided walkthroughs of the standard workflows, on the practice database. Up/Down picks one, "
            "Enter starts it (a running one is left). Each step checks what you did and moves on by itself; "
            "{app.training_next} shows the next hint and why the procedure is so. {training.close} closes this list.")
    BINDINGS = [bind("training.close", "close", "Close")]
    DEFAULT_CSS = """
    TrainingMenu { align: center middle; }
    TrainingMenu > Vertical { width: 78; max-width: 100%; height: auto; max-height: 100%;
        border: round $warning; background: $panel; padding: 0 1; }
    TrainingMenu #menu-title { text-style: bold; color: $text-warning; }
    TrainingMenu OptionList { height: auto; max-height: 16; }
    TrainingMenu #menu-message { color: $text-error; height: auto; }
    """

    def __init__(self, trainer) -> None:
        super().__init__()
        self.trainer = trainer

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("TRAINING — practice database: the walkthroughs", id="menu-title")
            options = []
            running = self.trainer.run.walkthrough.name if self.trainer.run and not self.trainer.run.complete else ""
            for i, w in enumerate(self.trainer.catalog(), 1):
                coming = w.coming()
                t = Text()
                t.append(f"{i}. {w.title}", style="bold" if not coming else "dim")
                if w.name in self.trainer.done:
                    t.append("  ✔ done", style="green")
                if w.name == running:
                    t.append("  (running)", style="yellow")
                t.append(f"\n   {coming}" if coming else f"\n   {w.summary}", style="dim")
                options.append(Option(t, id=w.name, disabled=bool(coming)))
            yield OptionList(*options, id="menu")
            yield Static("", id="menu-message")
            yield Static(Text("Enter starts · Esc closes · Ctrl+G in a walkthrough: next hint", style="dim"))

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        menu.focus()
        first = next((i for i, o in enumerate(menu.options) if not o.disabled and o.id not in self.trainer.done), 0)
        menu.highlighted = first

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        problem = self.trainer.start(event.option.id)
        if problem:
            self.query_one("#menu-message", Static).update(Text(problem))
            return
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

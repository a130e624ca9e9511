"""Policies and rates at hand: the co-op's policies and procedures, the department's training documents
and the rate schedules, searched in one box and read in Textual's Markdown viewer, over any screen
(the account underneath stays open: Esc goes back to it as it was)."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from kec_tui.keymap import bind
from kec_tui.services import reference
from kec_tui.services.errors import ServiceError, first_line
from kec_tui.widgets.line_input import LineInput

KIND_MARK = {"policy": "", "training": "Training: ", "rates": ""}


class ReferenceScreen(Screen):
    """Policies, training documents and rate schedules: search, read, back to where you were."""

    HELP = ("Type words to search every document at once (all the words, any order, any case); the list "
            "shows the documents that have them, most matches first, with the first line that does. "
            "{reference.list} goes to the list, Enter there (or in the search box) opens the document; "
            "{reference.find} goes back to the search box; {reference.back} closes this screen and leaves you "
            "where you were (the account stays open). The documents are Markdown files in the policies folder "
            "of the data directory (setting policies_dir): the co-op edits them there; the rate schedules are "
            "the ones billing uses.")
    BINDINGS = [
        bind("reference.back", "back", "Back"),
        bind("reference.find", "find", "Search"),
        bind("reference.list", "list", "List", show=False),
    ]
    DEFAULT_CSS = """
    ReferenceScreen #side { width: 34; border-right: vkey $primary; }
    ReferenceScreen #side LineInput { width: 100%; }
    ReferenceScreen #docs { height: 1fr; border: none; }
    ReferenceScreen #where { height: auto; color: $text-muted; padding: 0 1; }
    ReferenceScreen #body { width: 1fr; padding: 0 1; }
    """

    def __init__(self, document: str = "") -> None:
        super().__init__()
        self.directory = None
        self.start_document = document
        self.hits: list[reference.Hit] = []
        self.document: str = ""              # the name of the document shown
        self.source: str = ""                # its Markdown

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="side"):
                yield LineInput(placeholder="Search policies and rates", id="search")
                yield OptionList(id="docs")
                yield Static("", id="where")
            with VerticalScroll(id="body", can_focus=True):
                yield Markdown("", id="doc")
        yield Footer()

    def on_mount(self) -> None:
        self.directory = reference.policies_dir(self.app.settings)
        reference.ensure_documents(self.directory)
        self.query_one("#where", Static).update(Text(f"Folder: {self.directory}", overflow="ellipsis"))
        self.list_hits("")
        names = [h.document.name for h in self.hits]
        if self.start_document in names:
            self.show(self.start_document)
            self.query_one("#body").focus()
        else:
            if self.start_document:
                self.notify(f"No document {self.start_document} in {self.directory}", severity="warning")
            if names:
                self.show(names[0])
            self.query_one("#search", LineInput).focus()

    def list_hits(self, query: str) -> None:
        try:
            self.hits = reference.search(self.directory, query)
        except ServiceError as e:
            self.notify(e.message, severity="error")
            self.hits = []
        docs = self.query_one("#docs", OptionList)
        docs.clear_options()
        for h in self.hits:
            label = Text(KIND_MARK.get(h.document.kind, "") + h.document.title, style="bold")
            if query.strip() and h.snippet:
                label.append("\n" + h.snippet, style="dim")
            docs.add_option(Option(label, id=h.document.name))
        if not self.hits:
            docs.add_option(Option(Text(f"Nothing has all of: {query}", style="dim"), disabled=True))
        else:
            docs.highlighted = 0

    def show(self, name: str) -> None:
        try:
            text = reference.read(self.directory, name)
        except ServiceError as e:
            self.notify(e.message, severity="error")
            return
        except Exception as e:  # noqa: BLE001 - a message, never a traceback
            self.notify(f"Cannot show {name}: {first_line(e)}", severity="error")
            return
        self.document, self.source = name, text
        self.query_one("#doc", Markdown).update(text)
        self.query_one("#body", VerticalScroll).scroll_home(animate=False)

    @on(LineInput.Changed, "#search")
    def searched(self, event: LineInput.Changed) -> None:
        self.list_hits(event.value)
        if self.hits:
            self.show(self.hits[0].document.name)

    @on(LineInput.Submitted, "#search")
    def open_first(self, event: LineInput.Submitted) -> None:
        if self.hits:
            self.show(self.hits[0].document.name)
            self.query_one("#body").focus()

    @on(OptionList.OptionSelected, "#docs")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.show(event.option.id)
            self.query_one("#body").focus()

    @on(OptionList.OptionHighlighted, "#docs")
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and self.query_one("#docs").has_focus:
            self.show(event.option.id)

    def action_back(self) -> None:
        self.app.leave(self)

    def action_find(self) -> None:
        self.query_one("#search", LineInput).focus()

    def action_list(self) -> None:
        self.query_one("#docs", OptionList).focus()

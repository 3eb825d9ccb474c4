"""A progress display for long steps, fed by the callbacks the stages accept."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

ProgressCallback = Callable[[str, int, int | None], None]


class Progress:
    """``with Progress(console) as p: stage(progress=p.callback("grid"))`` — one bar per stage and step."""

    def __init__(self, console: Console) -> None:
        self._rich = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self._tasks: dict[str, int] = {}
        self._console = console

    def __enter__(self) -> Progress:
        self._rich.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._rich.__exit__(*exc)

    def callback(self, prefix: str) -> ProgressCallback:
        def update(message: str, done: int, total: int | None) -> None:
            key = f"{prefix}: {message}"
            if key not in self._tasks:
                self._tasks[key] = self._rich.add_task(key, total=total)
                if not self._console.is_terminal:
                    self._console.print(f"  {key} ...")
            self._rich.update(self._tasks[key], completed=done, total=total)

        return update

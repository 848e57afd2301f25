"""Server-sent events, as the providers stream them: ``event:`` and ``data:`` lines,
an event dispatched at each blank line, comments (``:``) ignored."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) for each event; the name is "message" when none was given."""
    name, data = "", []
    for line in lines:
        if not line:
            if data:
                yield name or "message", "\n".join(data)
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
    if data:  # a last event without its blank line: the stream was cut
        yield name or "message", "\n".join(data)
